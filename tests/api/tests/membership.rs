//! Membership: join_ok, leave, members, invitations and moderation.

use api_tests::{assert_status, create_room_ok, id_of, invite_ok, join_ok, TestApp, User};
use serde_json::{json, Value};

fn room_path(room: &Value, rest: &str) -> String {
    format!("/api/rooms/{}{rest}", id_of(room))
}

fn member_count(app: &TestApp, user: &User, room: &Value) -> i64 {
    app.get(&room_path(room, "")).as_user(user).send().json()["data"]["memberCount"].as_i64().unwrap()
}

#[test]
fn joining_a_public_room_creates_a_membership_once() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let bob = User::new("Bob");
    let room = create_room_ok(&app, &admin, json!({"name": "Lobby"}));
    let first = app.post(&room_path(&room, "/join")).as_user(&bob).raw_body("text/plain", "ignored").send();
    assert_eq!(first.status, 201);
    let membership = first.json()["data"].clone();
    assert_eq!(membership["roomId"], room["id"]);
    assert_eq!(membership["userId"], bob.id.as_str());
    assert_eq!(membership["displayName"], "Bob");
    assert_eq!(membership["role"], "member");
    assert!(membership["joinedAt"].as_str().unwrap().ends_with('Z'));
    let again = app.post(&room_path(&room, "/join")).as_user(&bob).send();
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["data"], membership, "already a member: unchanged");
    assert_eq!(member_count(&app, &bob, &room), 2);
    let room_view = app.get(&room_path(&room, "")).as_user(&bob).send().json()["data"].clone();
    assert_eq!((room_view["isMember"].clone(), room_view["role"].clone()), (json!(true), json!("member")));
}

#[test]
fn member_count_follows_joins_leaves_and_removals() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let room = create_room_ok(&app, &admin, json!({"name": "Lobby"}));
    let users: Vec<User> = (0..3).map(|i| User::new(&format!("u{i}"))).collect();
    for user in &users {
        join_ok(&app, user, &id_of(&room));
    }
    assert_eq!(app.post(&room_path(&room, "/leave")).as_user(&users[0]).send().status, 204);
    let removal = app.delete(&room_path(&room, &format!("/members/{}", users[1].id))).as_user(&admin).send();
    assert_eq!(removal.status, 204);
    assert_eq!(member_count(&app, &admin, &room), 2);
    let members = app.get(&room_path(&room, "/members")).as_user(&admin).send().json();
    assert_eq!(members["pagination"]["total"], 2);
}

#[test]
fn a_token_without_a_name_joins_with_a_null_display_name() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let id = uuid::Uuid::new_v4().to_string();
    let nameless =
        User { id: id.clone(), name: None, token: api_tests::sign(json!({"sub": id, "exp": api_tests::now() + 60})) };
    let room = create_room_ok(&app, &admin, json!({"name": "Lobby"}));
    assert_eq!(join_ok(&app, &nameless, &id_of(&room))["displayName"], Value::Null);
}

#[test]
fn leaving_answers_204_and_ends_the_membership() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let bob = User::new("Bob");
    let room = create_room_ok(&app, &admin, json!({"name": "Lobby"}));
    join_ok(&app, &bob, &id_of(&room));
    let leave = app.post(&room_path(&room, "/leave")).as_user(&bob).send();
    assert_eq!((leave.status, leave.body.is_empty()), (204, true));
    assert_eq!(member_count(&app, &admin, &room), 1);
}

#[test]
fn rejoining_after_leaving_gives_a_new_joined_at_and_the_member_role() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let bob = User::new("Bob");
    let room = create_room_ok(&app, &admin, json!({"name": "Lobby"}));
    let first = join_ok(&app, &bob, &id_of(&room));
    let promoted = app
        .put(&room_path(&room, &format!("/members/{}", bob.id)))
        .as_user(&admin)
        .json(json!({"role": "admin"}))
        .send();
    assert_eq!(promoted.status, 200);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(app.post(&room_path(&room, "/leave")).as_user(&bob).send().status, 204);
    let rejoined = join_ok(&app, &bob, &id_of(&room));
    assert_eq!(rejoined["role"], "member");
    assert!(rejoined["joinedAt"].as_str().unwrap() > first["joinedAt"].as_str().unwrap());
}

#[test]
fn leaving_a_room_you_are_not_in_is_a_conflict() {
    let app = TestApp::spawn();
    let public = create_room_ok(&app, &User::new("Admin"), json!({"name": "Lobby"}));
    app.post(&room_path(&public, "/leave")).as_user(&User::new("Bob")).send().assert_error(409, "NOT_MEMBER");
}

#[test]
fn leaving_a_private_room_you_cannot_see_is_not_found() {
    let app = TestApp::spawn();
    let private = create_room_ok(&app, &User::new("Admin"), json!({"name": "Back room", "isPrivate": true}));
    app.post(&room_path(&private, "/leave")).as_user(&User::new("Bob")).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn leaving_a_room_that_does_not_exist_is_not_found() {
    let app = TestApp::spawn();
    let path = format!("/api/rooms/{}/leave", uuid::Uuid::new_v4());
    app.post(&path).as_user(&User::new("Bob")).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn joining_by_a_malformed_room_id_is_a_validation_error() {
    let app = TestApp::spawn();
    app.post("/api/rooms/nope/join").as_user(&User::new("Bob")).send().assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn the_last_admin_cannot_leave() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    app.post(&room_path(&lobby.room, "/leave")).as_user(&lobby.admin).send().assert_error(409, "LAST_ADMIN");
}

#[test]
fn the_last_admin_cannot_be_demoted() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    app.put(&lobby.member_path(&lobby.admin))
        .as_user(&lobby.admin)
        .json(json!({"role": "member"}))
        .send()
        .assert_error(409, "LAST_ADMIN");
}

#[test]
fn the_last_admin_cannot_be_removed() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    app.delete(&lobby.member_path(&lobby.admin)).as_user(&lobby.admin).send().assert_error(409, "LAST_ADMIN");
}

#[test]
fn an_admin_steps_down_once_another_admin_exists() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    let promoted = app.put(&lobby.member_path(&lobby.bob)).as_user(&lobby.admin).json(json!({"role": "admin"})).send();
    assert_eq!(promoted.status, 200);
    let stepped_down =
        app.put(&lobby.member_path(&lobby.admin)).as_user(&lobby.admin).json(json!({"role": "member"})).send();
    assert_eq!(stepped_down.status, 200);
}

#[test]
fn the_new_last_admin_cannot_leave_after_the_old_one_stepped_down() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    app.put(&lobby.member_path(&lobby.bob)).as_user(&lobby.admin).json(json!({"role": "admin"})).send();
    app.put(&lobby.member_path(&lobby.admin)).as_user(&lobby.admin).json(json!({"role": "member"})).send();
    app.post(&room_path(&lobby.room, "/leave")).as_user(&lobby.bob).send().assert_error(409, "LAST_ADMIN");
}

#[test]
fn two_admins_leaving_at_once_cannot_orphan_the_room() {
    for round in 0..5 {
        let app = TestApp::spawn();
        let first = User::new("First");
        let second = User::new("Second");
        let room = create_room_ok(&app, &first, json!({"name": format!("Race {round}")}));
        join_ok(&app, &second, &id_of(&room));
        app.put(&room_path(&room, &format!("/members/{}", second.id)))
            .as_user(&first)
            .json(json!({"role": "admin"}))
            .send();
        let leave = room_path(&room, "/leave");
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let a = scope.spawn(|| app.post(&leave).as_user(&first).send().status);
            let b = scope.spawn(|| app.post(&leave).as_user(&second).send().status);
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(sorted, vec![204, 409], "round {round}: {statuses:?}");
        let members = app.get(&room_path(&room, "/members")).as_user(&first).send().json();
        let admins = members["data"].as_array().unwrap().iter().filter(|m| m["role"] == "admin").count();
        assert_eq!(admins, 1);
    }
}

#[test]
fn member_count_is_exact_after_50_concurrent_joins() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let room = create_room_ok(&app, &admin, json!({"name": "Crowd"}));
    let join_path = room_path(&room, "/join");
    let users: Vec<User> = (0..50).map(|i| User::new(&format!("user{i}"))).collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            users.iter().map(|u| scope.spawn(|| app.post(&join_path).as_user(u).send().status)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(member_count(&app, &admin, &room), 51);
    for user in users.iter().take(10) {
        assert_eq!(app.post(&room_path(&room, "/leave")).as_user(user).send().status, 204);
    }
    app.delete(&room_path(&room, &format!("/members/{}", users[10].id))).as_user(&admin).send();
    assert_eq!(member_count(&app, &admin, &room), 40);
    let listed = app.get("/api/rooms").as_user(&admin).send().json();
    assert_eq!(listed["data"][0]["memberCount"], 40);
}

#[test]
fn the_member_list_is_paged_in_join_order() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let room = create_room_ok(&app, &admin, json!({"name": "Lobby"}));
    let users: Vec<User> = (0..4).map(|i| User::new(&format!("u{i}"))).collect();
    for user in &users {
        join_ok(&app, user, &id_of(&room));
    }
    let page = |query: &str| app.get(&room_path(&room, &format!("/members?{query}"))).as_user(&admin).send();
    let all = page("").json();
    let ids: Vec<&str> = all["data"].as_array().unwrap().iter().map(|m| m["userId"].as_str().unwrap()).collect();
    let mut expected = vec![admin.id.as_str()];
    expected.extend(users.iter().map(|u| u.id.as_str()));
    assert_eq!(ids, expected, "joinedAt ascending");
    assert_eq!(all["pagination"], json!({"page": 1, "limit": 20, "total": 5, "hasMore": false}));
    let second = page("page=2&limit=2").json();
    assert_eq!(second["data"].as_array().unwrap().len(), 2);
    assert_eq!(second["pagination"], json!({"page": 2, "limit": 2, "total": 5, "hasMore": true}));
    assert_eq!(page("page=3&limit=2").json()["pagination"]["hasMore"], false);
    assert_eq!(page("page=9&limit=2").json()["data"], json!([]));
    for bad in ["page=0", "limit=0", "limit=101", "page=x"] {
        page(bad).assert_error(400, "VALIDATION_ERROR");
    }
}

/// A private room, its admin, and the path of its invitations.
fn private_room(app: &TestApp, admin: &User) -> (Value, String) {
    let room = create_room_ok(app, admin, json!({"name": "Private", "isPrivate": true}));
    let invitations = room_path(&room, "/invitations");
    (room, invitations)
}

#[test]
fn an_uninvited_user_cannot_join_a_private_room() {
    let app = TestApp::spawn();
    let (room, _) = private_room(&app, &User::new("Admin"));
    app.post(&room_path(&room, "/join")).as_user(&User::new("Guest")).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn inviting_answers_201_with_the_invitation() {
    let app = TestApp::spawn();
    let (admin, guest) = (User::new("Admin"), User::new("Guest"));
    let (room, invitations) = private_room(&app, &admin);
    let created = app.post(&invitations).as_user(&admin).json(json!({"userId": guest.id})).send();
    assert_eq!(created.status, 201);
    let invitation = created.json()["data"].clone();
    assert_eq!(
        (invitation["roomId"].clone(), invitation["userId"].clone(), invitation["invitedBy"].clone()),
        (room["id"].clone(), json!(guest.id), json!(admin.id))
    );
}

#[test]
fn inviting_again_answers_200_with_the_same_invitation() {
    let app = TestApp::spawn();
    let (admin, guest) = (User::new("Admin"), User::new("Guest"));
    let (_, invitations) = private_room(&app, &admin);
    let first = app.post(&invitations).as_user(&admin).json(json!({"userId": guest.id})).send().json()["data"].clone();
    let again = app.post(&invitations).as_user(&admin).json(json!({"userId": guest.id})).send();
    assert_eq!((again.status, again.json()["data"].clone()), (200, first));
}

#[test]
fn pending_invitations_are_listed_for_admins() {
    let app = TestApp::spawn();
    let (admin, guest) = (User::new("Admin"), User::new("Guest"));
    let (room, invitations) = private_room(&app, &admin);
    let invitation = invite_ok(&app, &admin, &id_of(&room), &guest);
    let listed = app.get(&invitations).as_user(&admin).send().json();
    assert_eq!((listed["data"].clone(), listed["pagination"]["total"].clone()), (json!([invitation]), json!(1)));
}

#[test]
fn an_invitee_sees_the_room_but_not_its_members() {
    let app = TestApp::spawn();
    let (admin, guest) = (User::new("Admin"), User::new("Guest"));
    let (room, _) = private_room(&app, &admin);
    invite_ok(&app, &admin, &id_of(&room), &guest);
    app.get(&room_path(&room, "/members")).as_user(&guest).send().assert_error(403, "NOT_MEMBER");
}

#[test]
fn an_invitee_joins_as_a_member() {
    let app = TestApp::spawn();
    let (admin, guest) = (User::new("Admin"), User::new("Guest"));
    let (room, _) = private_room(&app, &admin);
    invite_ok(&app, &admin, &id_of(&room), &guest);
    assert_eq!(join_ok(&app, &guest, &id_of(&room))["role"], "member");
}

#[test]
fn joining_consumes_the_invitation() {
    let app = TestApp::spawn();
    let (admin, guest) = (User::new("Admin"), User::new("Guest"));
    let (room, invitations) = private_room(&app, &admin);
    invite_ok(&app, &admin, &id_of(&room), &guest);
    join_ok(&app, &guest, &id_of(&room));
    assert_eq!(app.get(&invitations).as_user(&admin).send().json()["pagination"]["total"], 0);
}

#[test]
fn inviting_a_member_is_a_conflict() {
    let app = TestApp::spawn();
    let (admin, guest) = (User::new("Admin"), User::new("Guest"));
    let (room, invitations) = private_room(&app, &admin);
    invite_ok(&app, &admin, &id_of(&room), &guest);
    join_ok(&app, &guest, &id_of(&room));
    app.post(&invitations).as_user(&admin).json(json!({"userId": guest.id})).send().assert_error(409, "ALREADY_MEMBER");
}

#[test]
fn a_revoked_invitation_no_longer_shows_the_room() {
    let app = TestApp::spawn();
    let (admin, other) = (User::new("Admin"), User::new("Other"));
    let (room, _) = private_room(&app, &admin);
    invite_ok(&app, &admin, &id_of(&room), &other);
    let revoke = room_path(&room, &format!("/invitations/{}", other.id));
    assert_eq!(app.delete(&revoke).as_user(&admin).send().status, 204);
    app.get(&room_path(&room, "")).as_user(&other).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn revoking_a_missing_invitation_is_404() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let (room, _) = private_room(&app, &admin);
    let revoke = room_path(&room, &format!("/invitations/{}", User::new("Nobody").id));
    app.delete(&revoke).as_user(&admin).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn an_invitation_needs_a_uuid_user_id() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let (_, invitations) = private_room(&app, &admin);
    let bad = app
        .post(&invitations)
        .as_user(&admin)
        .json(json!({"userId": "bob"}))
        .send()
        .assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad["details"][0]["field"], "userId");
}

#[test]
fn an_invitation_body_has_no_other_fields() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let (_, invitations) = private_room(&app, &admin);
    app.post(&invitations)
        .as_user(&admin)
        .json(json!({"userId": User::new("Guest").id, "role": "admin"}))
        .send()
        .assert_error(400, "VALIDATION_ERROR");
}

/// A public room with an admin and two members, Bob and Carol.
struct Lobby {
    room: Value,
    admin: User,
    bob: User,
    carol: User,
}

impl Lobby {
    fn open(app: &TestApp) -> Lobby {
        let (admin, bob, carol) = (User::new("Admin"), User::new("Bob"), User::new("Carol"));
        let room = create_room_ok(app, &admin, json!({"name": "Lobby"}));
        join_ok(app, &bob, &id_of(&room));
        join_ok(app, &carol, &id_of(&room));
        Lobby { room, admin, bob, carol }
    }

    fn member_path(&self, user: &User) -> String {
        room_path(&self.room, &format!("/members/{}", user.id))
    }
}

#[test]
fn an_admin_promotes_a_member() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    let promoted = app.put(&lobby.member_path(&lobby.bob)).as_user(&lobby.admin).json(json!({"role": "admin"})).send();
    assert_eq!((promoted.status, promoted.json()["data"]["role"].clone()), (200, json!("admin")));
}

#[test]
fn a_role_is_admin_or_member() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    let path = lobby.member_path(&lobby.bob);
    app.put(&path).as_user(&lobby.admin).json(json!({"role": "owner"})).send().assert_error(400, "VALIDATION_ERROR");
    app.put(&path).as_user(&lobby.admin).json(json!({})).send().assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn a_member_cannot_change_roles() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    app.put(&lobby.member_path(&lobby.bob))
        .as_user(&lobby.carol)
        .json(json!({"role": "member"}))
        .send()
        .assert_error(403, "FORBIDDEN");
}

#[test]
fn moderating_someone_who_is_not_a_member_is_404() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    let stranger = room_path(&lobby.room, &format!("/members/{}", uuid::Uuid::new_v4()));
    app.put(&stranger).as_user(&lobby.admin).json(json!({"role": "admin"})).send().assert_error(404, "NOT_FOUND");
    app.delete(&stranger).as_user(&lobby.admin).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn a_member_cannot_remove_another() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    app.delete(&lobby.member_path(&lobby.bob)).as_user(&lobby.carol).send().assert_error(403, "FORBIDDEN");
}

#[test]
fn a_member_removes_themselves_once() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    let path = lobby.member_path(&lobby.carol);
    assert_eq!(app.delete(&path).as_user(&lobby.carol).send().status, 204);
    app.delete(&path).as_user(&lobby.carol).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn an_admin_removes_a_member() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    assert_eq!(app.delete(&lobby.member_path(&lobby.bob)).as_user(&lobby.admin).send().status, 204);
    assert_eq!(member_count(&app, &lobby.admin, &lobby.room), 2);
}

#[test]
fn a_member_path_needs_a_uuid() {
    let app = TestApp::spawn();
    let lobby = Lobby::open(&app);
    app.put(&room_path(&lobby.room, "/members/nope"))
        .as_user(&lobby.admin)
        .json(json!({"role": "admin"}))
        .send()
        .assert_error(400, "VALIDATION_ERROR");
}

/// (method, path, body, caller, expected status)
type Case<'a> = (&'a str, &'a str, Option<Value>, Option<&'a User>, u16);

#[test]
fn membership_authorization_matrix() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let member = User::new("Member");
    let invitee = User::new("Invitee");
    let outsider = User::new("Outsider");
    let target = User::new("Target");
    for private in [false, true] {
        let room = create_room_ok(&app, &admin, json!({"name": format!("m-{private}"), "isPrivate": private}));
        let id = id_of(&room);
        for user in [&member, &target] {
            if private {
                invite_ok(&app, &admin, &id, user);
            }
            join_ok(&app, user, &id);
        }
        invite_ok(&app, &admin, &id, &invitee);
        let hidden = if private { 404 } else { 403 };
        let members = format!("/api/rooms/{id}/members");
        let target_member = format!("/api/rooms/{id}/members/{}", target.id);
        let invitations = format!("/api/rooms/{id}/invitations");
        let invitee_invitation = format!("/api/rooms/{id}/invitations/{}", invitee.id);
        // (method, path, body, caller, expected)
        let table: Vec<Case> = vec![
            ("GET", &members, None, None, 401),
            ("GET", &members, None, Some(&outsider), if private { 404 } else { 200 }),
            ("GET", &members, None, Some(&invitee), if private { 403 } else { 200 }),
            ("GET", &members, None, Some(&member), 200),
            ("GET", &invitations, None, Some(&outsider), hidden),
            ("GET", &invitations, None, Some(&invitee), 403),
            ("GET", &invitations, None, Some(&member), 403),
            ("GET", &invitations, None, Some(&admin), 200),
            ("POST", &invitations, Some(json!({"userId": outsider.id})), None, 401),
            ("POST", &invitations, Some(json!({"userId": outsider.id})), Some(&outsider), hidden),
            ("POST", &invitations, Some(json!({"userId": outsider.id})), Some(&member), 403),
            ("PUT", &target_member, Some(json!({"role": "admin"})), Some(&outsider), hidden),
            ("PUT", &target_member, Some(json!({"role": "admin"})), Some(&invitee), 403),
            ("PUT", &target_member, Some(json!({"role": "admin"})), Some(&member), 403),
            ("PUT", &target_member, Some(json!({"role": "admin"})), Some(&admin), 200),
            ("DELETE", &invitee_invitation, None, Some(&outsider), hidden),
            ("DELETE", &invitee_invitation, None, Some(&member), 403),
            ("DELETE", &target_member, None, Some(&outsider), hidden),
            ("DELETE", &target_member, None, Some(&member), 403),
            ("DELETE", &target_member, None, Some(&admin), 204),
            ("DELETE", &invitee_invitation, None, Some(&admin), 204),
        ];
        for (method, path, body, caller, expected) in table {
            assert_status(&app, method, path, body, caller, expected);
        }
    }
}

#[test]
fn joining_a_private_room_needs_an_invitation() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let outsider = User::new("Outsider");
    let room = create_room_ok(&app, &admin, json!({"name": "Vault", "isPrivate": true}));
    app.post(&room_path(&room, "/join")).as_user(&outsider).send().assert_error(404, "NOT_FOUND");
    app.get(&room_path(&room, "/members")).as_user(&outsider).send().assert_error(404, "NOT_FOUND");
    app.delete(&room_path(&room, "")).as_user(&admin).send();
    app.post(&room_path(&room, "/invitations"))
        .as_user(&admin)
        .json(json!({"userId": uuid::Uuid::new_v4()}))
        .send()
        .assert_error(404, "NOT_FOUND");
    app.post(&room_path(&room, "/join")).as_user(&admin).send().assert_error(404, "NOT_FOUND");
    app.get(&room_path(&room, "/members")).as_user(&admin).send().assert_error(404, "NOT_FOUND");
}

/// Needs the test host's own switches (statement counter, database-down switch, host-call record): the real-Spin runs skip this module.
mod host_only {
    use super::*;

    #[test]
    fn the_member_list_costs_its_access_check_and_one_statement_for_page_and_total() {
        let app = TestApp::spawn();
        let admin = User::new("Admin");
        let room = create_room_ok(&app, &admin, json!({"name": "Lobby"}));
        let (_, statements) =
            app.count_statements(|| app.get(&room_path(&room, "/members?limit=1")).as_user(&admin).send());
        assert_eq!(statements, 2);
    }

    #[test]
    fn joining_costs_one_statement() {
        let app = TestApp::spawn();
        let room = create_room_ok(&app, &User::new("Admin"), json!({"name": "Lobby"}));
        let (_, statements) = app.count_statements(|| join_ok(&app, &User::new("Bob"), &id_of(&room)));
        assert_eq!(statements, 1, "the INSERT; its trigger consumes an invitation");
    }

    #[test]
    fn leaving_costs_the_guarded_delete_alone() {
        let app = TestApp::spawn();
        let room = create_room_ok(&app, &User::new("Admin"), json!({"name": "Lobby"}));
        let bob = User::new("Bob");
        join_ok(&app, &bob, &id_of(&room));
        let (_, statements) = app.count_statements(|| app.post(&room_path(&room, "/leave")).as_user(&bob).send());
        assert_eq!(statements, 1);
    }
}
