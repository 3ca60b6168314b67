//! The contract's authorization table, every cell: each room route × each caller (anonymous,
//! outsider, invitee, member, admin, the target message's author) × each room (public, private,
//! deleted), on a fresh room per cell so no cell depends on another.

use api_tests::{create_room_ok, id_of, invite_ok, join_ok, send_text_ok, TestApp, User};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Outsider,
    Invitee,
    Member,
    Admin,
    Author,
}

/// The callers that hold a token, in the order of the tables below.
const WITH_TOKEN: [Caller; 5] = [Caller::Outsider, Caller::Invitee, Caller::Member, Caller::Admin, Caller::Author];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Room {
    Public,
    Private,
    Deleted,
}

/// One room route: its method, its path after `/api/rooms/:id` (`{member}` is a member's id,
/// `{invitee}` an invitee's, `{message}` the author's message), its body, and the contract's
/// status for outsider, invitee, member, admin and author in a public and in a private room.
struct Route {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    public: [u16; 5],
    private: [u16; 5],
}

fn routes() -> Vec<Route> {
    let route = |method, path, body, public, private| Route { method, path, body, public, private };
    vec![
        //                                                   outsider invitee member admin author
        route("GET", "", None, [200, 200, 200, 200, 200], [404, 200, 200, 200, 200]),
        route("PUT", "", Some(json!({"description": "new"})), [403, 403, 403, 200, 403], [404, 403, 403, 200, 403]),
        route("DELETE", "", None, [403, 403, 403, 204, 403], [404, 403, 403, 204, 403]),
        route("POST", "/join", None, [201, 201, 200, 200, 200], [404, 201, 200, 200, 200]),
        route("POST", "/leave", None, [409, 409, 204, 409, 204], [404, 409, 204, 409, 204]),
        route("GET", "/members", None, [200, 200, 200, 200, 200], [404, 403, 200, 200, 200]),
        route(
            "PUT",
            "/members/{member}",
            Some(json!({"role": "admin"})),
            [403, 403, 403, 200, 403],
            [404, 403, 403, 200, 403],
        ),
        route("DELETE", "/members/{member}", None, [403, 403, 204, 204, 403], [404, 403, 204, 204, 403]),
        route(
            "POST",
            "/invitations",
            Some(json!({"userId": "{new}"})),
            [403, 403, 403, 201, 403],
            [404, 403, 403, 201, 403],
        ),
        route("GET", "/invitations", None, [403, 403, 403, 200, 403], [404, 403, 403, 200, 403]),
        route("DELETE", "/invitations/{invitee}", None, [403, 403, 403, 204, 403], [404, 403, 403, 204, 403]),
        route("GET", "/messages", None, [403, 403, 200, 200, 200], [404, 403, 200, 200, 200]),
        route(
            "POST",
            "/messages",
            Some(json!({"content": "hi"})),
            [403, 403, 201, 201, 201],
            [404, 403, 201, 201, 201],
        ),
        route("GET", "/messages/{message}", None, [403, 403, 200, 200, 200], [404, 403, 200, 200, 200]),
        route("DELETE", "/messages/{message}", None, [403, 403, 403, 204, 204], [404, 403, 403, 204, 204]),
        // v1.2: non-members are answered as on GET .../messages; members without the right, 403.
        route(
            "PATCH",
            "/messages/{message}",
            Some(json!({"content": "fixed"})),
            [403, 403, 403, 403, 200],
            [404, 403, 403, 403, 200],
        ),
        route("GET", "/messages/{message}/edits", None, [403, 403, 403, 200, 200], [404, 403, 403, 200, 200]),
        route(
            "PUT",
            "/messages/{message}/reactions/%F0%9F%91%8D",
            None,
            [403, 403, 200, 200, 200],
            [404, 403, 200, 200, 200],
        ),
        route(
            "DELETE",
            "/messages/{message}/reactions/%F0%9F%91%8D",
            None,
            [403, 403, 204, 204, 204],
            [404, 403, 204, 204, 204],
        ),
        route("GET", "/messages?search=target", None, [403, 403, 200, 200, 200], [404, 403, 200, 200, 200]),
        route("GET", "/messages?replyTo={message}", None, [403, 403, 200, 200, 200], [404, 403, 200, 200, 200]),
        // Real time: as GET .../messages.
        route("GET", "/changes", None, [403, 403, 200, 200, 200], [404, 403, 200, 200, 200]),
        route("GET", "/messages?wait=0", None, [403, 403, 200, 200, 200], [404, 403, 200, 200, 200]),
    ]
}

/// A fresh room of `kind` with one user in each role.
struct Cell {
    room: String,
    message: String,
    users: [(Caller, User); 5],
}

impl Cell {
    fn new(app: &TestApp, kind: Room, index: usize) -> Cell {
        let admin = User::new("Admin");
        let private = kind == Room::Private;
        let room = id_of(&create_room_ok(app, &admin, json!({"name": format!("Cell {index}"), "isPrivate": private})));
        let (outsider, invitee, member, author) =
            (User::new("Outsider"), User::new("Invitee"), User::new("Member"), User::new("Author"));
        for user in [&member, &author] {
            if private {
                invite_ok(app, &admin, &room, user);
            }
            join_ok(app, user, &room);
        }
        invite_ok(app, &admin, &room, &invitee);
        let message = send_text_ok(app, &author, &room, "the target")["id"].as_str().unwrap().to_owned();
        if kind == Room::Deleted {
            assert_eq!(app.delete(&format!("/api/rooms/{room}")).as_user(&admin).send().status, 204);
        }
        let users = [
            (Caller::Outsider, outsider),
            (Caller::Invitee, invitee),
            (Caller::Member, member),
            (Caller::Admin, admin),
            (Caller::Author, author),
        ];
        Cell { room, message, users }
    }

    fn user(&self, caller: Caller) -> &User {
        &self.users.iter().find(|(c, _)| *c == caller).expect("a user for every caller with a token").1
    }

    fn path(&self, route: &Route) -> String {
        let rest = route
            .path
            .replace("{member}", &self.user(Caller::Member).id)
            .replace("{invitee}", &self.user(Caller::Invitee).id)
            .replace("{message}", &self.message);
        format!("/api/rooms/{}{rest}", self.room)
    }
}

fn expected(route: &Route, caller: Caller, kind: Room) -> u16 {
    let column = WITH_TOKEN.iter().position(|c| *c == caller);
    match (kind, column) {
        (_, None) => 401,
        (Room::Deleted, Some(_)) => 404,
        (Room::Public, Some(i)) => route.public[i],
        (Room::Private, Some(i)) => route.private[i],
    }
}

fn status_of(app: &TestApp, cell: &Cell, route: &Route, caller: Caller) -> (u16, String) {
    let mut request = app.request(route.method, &cell.path(route));
    if let Some(body) = &route.body {
        let body = body.to_string().replace("{new}", &uuid::Uuid::new_v4().to_string());
        request = request.raw_body("application/json", body);
    }
    if caller != Caller::Anonymous {
        request = request.as_user(cell.user(caller));
    }
    let response = request.send();
    (response.status, String::from_utf8_lossy(&response.body).into_owned())
}

#[test]
fn every_room_route_answers_each_caller_in_each_room_as_the_contract_says() {
    let app = TestApp::spawn();
    let callers = [Caller::Anonymous, Caller::Outsider, Caller::Invitee, Caller::Member, Caller::Admin, Caller::Author];
    let mut wrong = Vec::new();
    let mut index = 0;
    for kind in [Room::Public, Room::Private, Room::Deleted] {
        for route in &routes() {
            for caller in callers {
                index += 1;
                let cell = Cell::new(&app, kind, index);
                let (status, body) = status_of(&app, &cell, route, caller);
                let want = expected(route, caller, kind);
                if status != want {
                    wrong.push(format!(
                        "{} {} as {caller:?} in a {kind:?} room: {status}, want {want}: {body}",
                        route.method, route.path
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells differ from the contract:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn listing_and_creating_rooms_need_a_token_and_nothing_else() {
    let app = TestApp::spawn();
    app.get("/api/rooms").send().assert_error(401, "UNAUTHORIZED");
    app.post("/api/rooms").json(json!({"name": "Anyone"})).send().assert_error(401, "UNAUTHORIZED");
    let anyone = User::new("Anyone");
    assert_eq!(app.get("/api/rooms").as_user(&anyone).send().status, 200);
    assert_eq!(app.post("/api/rooms").as_user(&anyone).json(json!({"name": "Anyone's"})).send().status, 201);
}
