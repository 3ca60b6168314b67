//! The contract's order of checks (v1.2, General): route → method → authentication → path ids →
//! body → validation → the room (404) → permission (403) → the target (404) → conflict (409).
//! So a caller who may not use a route on a room it can see learns nothing about its targets,
//! and nothing touches the store before the request is known to be well-formed.

use api_tests::{create_room_ok, id_of, invite_ok, join_ok, send_text_ok, TestApp, User};
use serde_json::{json, Value};

const OVER_64_KIB: usize = 64 * 1024 + 10;

fn field_of(response: &api_tests::TestResponse) -> Value {
    response.json()["details"][0]["field"].clone()
}

/// A private room with a member and an invitee, and a user who is neither.
struct Vault {
    room: String,
    admin: User,
    member: User,
    invitee: User,
}

impl Vault {
    fn open(app: &TestApp) -> Vault {
        let admin = User::new("Admin");
        let room = id_of(&create_room_ok(app, &admin, json!({"name": "Vault", "isPrivate": true})));
        let member = User::new("Member");
        invite_ok(app, &admin, &room, &member);
        join_ok(app, &member, &room);
        let invitee = User::new("Invitee");
        invite_ok(app, &admin, &room, &invitee);
        Vault { room, admin, member, invitee }
    }
}

#[test]
fn a_malformed_room_id_is_reported_before_an_oversized_body() {
    let app = TestApp::spawn();
    let response = app
        .post("/api/rooms/not-a-uuid/messages")
        .as_user(&User::new("Ada"))
        .raw_body("application/json", " ".repeat(OVER_64_KIB))
        .send();
    response.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(field_of(&response), json!("id"));
}

#[test]
fn joining_by_a_malformed_room_id_with_an_oversized_body_is_400() {
    let app = TestApp::spawn();
    let response = app
        .post("/api/rooms/not-a-uuid/join")
        .as_user(&User::new("Ada"))
        .raw_body("text/plain", "x".repeat(OVER_64_KIB))
        .send();
    response.assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn a_malformed_user_id_is_reported_before_a_body_that_is_not_json() {
    let app = TestApp::spawn();
    let room = id_of(&create_room_ok(&app, &User::new("Admin"), json!({"name": "Lobby"})));
    let response = app
        .put(&format!("/api/rooms/{room}/members/nobody"))
        .as_user(&User::new("Ada"))
        .raw_body("text/plain", "role=admin")
        .send();
    response.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(field_of(&response), json!("userId"));
}

#[test]
fn a_member_revoking_an_invitation_is_forbidden_whether_or_not_it_exists() {
    let app = TestApp::spawn();
    let vault = Vault::open(&app);
    for invitee in [vault.invitee.id.clone(), uuid::Uuid::new_v4().to_string()] {
        let path = format!("/api/rooms/{}/invitations/{invitee}", vault.room);
        app.delete(&path).as_user(&vault.member).send().assert_error(403, "FORBIDDEN");
    }
}

#[test]
fn an_invitee_changing_a_role_is_forbidden_whether_or_not_the_target_is_a_member() {
    let app = TestApp::spawn();
    let vault = Vault::open(&app);
    for target in [vault.member.id.clone(), uuid::Uuid::new_v4().to_string()] {
        let path = format!("/api/rooms/{}/members/{target}", vault.room);
        let response = app.put(&path).as_user(&vault.invitee).json(json!({"role": "admin"})).send();
        response.assert_error(403, "FORBIDDEN");
    }
}

#[test]
fn a_member_removing_someone_else_is_forbidden_whether_or_not_they_are_a_member() {
    let app = TestApp::spawn();
    let vault = Vault::open(&app);
    for target in [vault.admin.id.clone(), uuid::Uuid::new_v4().to_string()] {
        let path = format!("/api/rooms/{}/members/{target}", vault.room);
        app.delete(&path).as_user(&vault.member).send().assert_error(403, "FORBIDDEN");
    }
}

#[test]
fn a_non_member_deleting_a_message_is_forbidden_whether_or_not_it_exists() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let room = id_of(&create_room_ok(&app, &admin, json!({"name": "Lobby"})));
    let message = send_text_ok(&app, &admin, &room, "hello")["id"].as_str().unwrap().to_owned();
    let outsider = User::new("Outsider");
    for id in [message, uuid::Uuid::new_v4().to_string()] {
        let path = format!("/api/rooms/{room}/messages/{id}");
        app.delete(&path).as_user(&outsider).send().assert_error(403, "FORBIDDEN");
    }
}

#[test]
fn an_author_who_left_a_public_room_can_no_longer_delete_their_message() {
    let app = TestApp::spawn();
    let room = id_of(&create_room_ok(&app, &User::new("Admin"), json!({"name": "Lobby"})));
    let ada = User::new("Ada");
    join_ok(&app, &ada, &room);
    let message = send_text_ok(&app, &ada, &room, "mine")["id"].as_str().unwrap().to_owned();
    assert_eq!(app.post(&format!("/api/rooms/{room}/leave")).as_user(&ada).send().status, 204);
    let path = format!("/api/rooms/{room}/messages/{message}");
    app.delete(&path).as_user(&ada).send().assert_error(403, "FORBIDDEN");
}

#[test]
fn an_admin_still_gets_404_for_a_missing_target() {
    let app = TestApp::spawn();
    let vault = Vault::open(&app);
    let missing = uuid::Uuid::new_v4();
    let invitation = format!("/api/rooms/{}/invitations/{missing}", vault.room);
    app.delete(&invitation).as_user(&vault.admin).send().assert_error(404, "NOT_FOUND");
    let member = format!("/api/rooms/{}/members/{missing}", vault.room);
    app.put(&member).as_user(&vault.admin).json(json!({"role": "admin"})).send().assert_error(404, "NOT_FOUND");
}

/// (method, path, (content type, body), expected status, expected code)
type Case<'a> = (&'a str, String, Option<(&'a str, String)>, u16, &'a str);

/// Each request is malformed in one way; with the store down (in each mode by its own means),
/// only a request that reaches the store could answer 503.
#[test]
fn a_malformed_request_is_answered_without_touching_the_store() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = id_of(&create_room_ok(&app, &ada, json!({"name": "Lobby"})));
    let _outage = app.take_store_down();
    let rooms = "/api/rooms".to_owned();
    let messages = format!("/api/rooms/{room}/messages");
    let cases: Vec<Case> = vec![
        ("GET", "/api/rooms/nope".into(), None, 400, "VALIDATION_ERROR"),
        ("GET", format!("{rooms}?limit=0"), None, 400, "VALIDATION_ERROR"),
        ("GET", format!("{messages}?before=x&after=y"), None, 400, "VALIDATION_ERROR"),
        ("GET", format!("{messages}?before=not-a-cursor"), None, 400, "VALIDATION_ERROR"),
        ("POST", rooms.clone(), Some(("application/json", " ".repeat(OVER_64_KIB))), 413, "PAYLOAD_TOO_LARGE"),
        ("POST", rooms.clone(), Some(("text/plain", "{}".into())), 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("POST", rooms.clone(), Some(("application/json", "{".into())), 400, "INVALID_JSON"),
        ("POST", rooms.clone(), Some(("application/json", r#"{"name":"ok","x":1}"#.into())), 400, "VALIDATION_ERROR"),
        ("POST", rooms.clone(), Some(("application/json", r#"{"name":"  "}"#.into())), 400, "VALIDATION_ERROR"),
        ("POST", messages.clone(), Some(("application/json", r#"{"content":""}"#.into())), 400, "VALIDATION_ERROR"),
        ("POST", format!("/api/rooms/{room}/join/nope"), None, 404, "NOT_FOUND"),
        ("PATCH", rooms.clone(), None, 405, "METHOD_NOT_ALLOWED"),
    ];
    for (method, path, body, status, code) in cases {
        let mut request = app.request(method, &path).as_user(&ada);
        if let Some((content_type, body)) = body {
            request = request.raw_body(content_type, body);
        }
        request.send().assert_error(status, code);
    }
    app.get(&rooms).as_user(&ada).send().assert_error(503, "SERVICE_UNAVAILABLE");
}
