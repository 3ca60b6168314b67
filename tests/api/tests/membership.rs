//! Membership: join, leave, members, invitations and moderation.

use api_tests::{assert_status, create_room, id_of, invite, join, TestApp, User};
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
    let room = create_room(&app, &admin, json!({"name": "Lobby"}));
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
fn a_token_without_a_name_joins_with_a_null_display_name() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let id = uuid::Uuid::new_v4().to_string();
    let nameless =
        User { id: id.clone(), name: None, token: api_tests::sign(json!({"sub": id, "exp": api_tests::now() + 60})) };
    let room = create_room(&app, &admin, json!({"name": "Lobby"}));
    assert_eq!(join(&app, &nameless, &id_of(&room))["displayName"], Value::Null);
}

#[test]
fn leaving_and_rejoining_gives_a_new_joined_at_and_the_member_role() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let bob = User::new("Bob");
    let room = create_room(&app, &admin, json!({"name": "Lobby"}));
    join(&app, &bob, &id_of(&room));
    let promoted = app
        .put(&room_path(&room, &format!("/members/{}", bob.id)))
        .as_user(&admin)
        .json(json!({"role": "admin"}))
        .send();
    assert_eq!(promoted.json()["data"]["role"], "admin");
    let first = app.get(&room_path(&room, "/members")).as_user(&bob).send().json()["data"][1].clone();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let leave = app.post(&room_path(&room, "/leave")).as_user(&bob).send();
    assert_eq!(leave.status, 204);
    assert!(leave.body.is_empty());
    assert_eq!(member_count(&app, &admin, &room), 1);
    let rejoined = join(&app, &bob, &id_of(&room));
    assert_eq!(rejoined["role"], "member");
    assert!(rejoined["joinedAt"].as_str().unwrap() > first["joinedAt"].as_str().unwrap());
}

#[test]
fn leaving_a_room_you_are_not_in_is_a_conflict() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let bob = User::new("Bob");
    let public = create_room(&app, &admin, json!({"name": "Lobby"}));
    let private = create_room(&app, &admin, json!({"name": "Back room", "isPrivate": true}));
    app.post(&room_path(&public, "/leave")).as_user(&bob).send().assert_error(409, "NOT_MEMBER");
    app.post(&room_path(&private, "/leave")).as_user(&bob).send().assert_error(404, "NOT_FOUND");
    app.post(&format!("/api/rooms/{}/leave", uuid::Uuid::new_v4())).as_user(&bob).send().assert_error(404, "NOT_FOUND");
    app.post("/api/rooms/nope/join").as_user(&bob).send().assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn the_last_admin_can_never_leave_be_demoted_or_removed() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let bob = User::new("Bob");
    let room = create_room(&app, &admin, json!({"name": "Lobby"}));
    join(&app, &bob, &id_of(&room));
    let admin_path = room_path(&room, &format!("/members/{}", admin.id));
    app.post(&room_path(&room, "/leave")).as_user(&admin).send().assert_error(409, "LAST_ADMIN");
    app.put(&admin_path).as_user(&admin).json(json!({"role": "member"})).send().assert_error(409, "LAST_ADMIN");
    app.delete(&admin_path).as_user(&admin).send().assert_error(409, "LAST_ADMIN");
    // Promote someone, then the former last admin may step down.
    app.put(&room_path(&room, &format!("/members/{}", bob.id))).as_user(&admin).json(json!({"role": "admin"})).send();
    assert_eq!(app.put(&admin_path).as_user(&admin).json(json!({"role": "member"})).send().status, 200);
    app.post(&room_path(&room, "/leave")).as_user(&bob).send().assert_error(409, "LAST_ADMIN");
}

#[test]
fn two_admins_leaving_at_once_cannot_orphan_the_room() {
    for round in 0..5 {
        let app = TestApp::spawn();
        let first = User::new("First");
        let second = User::new("Second");
        let room = create_room(&app, &first, json!({"name": format!("Race {round}")}));
        join(&app, &second, &id_of(&room));
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
    let room = create_room(&app, &admin, json!({"name": "Crowd"}));
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
    let room = create_room(&app, &admin, json!({"name": "Lobby"}));
    let users: Vec<User> = (0..4).map(|i| User::new(&format!("u{i}"))).collect();
    for user in &users {
        join(&app, user, &id_of(&room));
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

#[test]
fn invitation_lifecycle() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let guest = User::new("Guest");
    let room = create_room(&app, &admin, json!({"name": "Private", "isPrivate": true}));
    let invitations = room_path(&room, "/invitations");
    // Not yet invited: the room does not exist for the guest.
    app.post(&room_path(&room, "/join")).as_user(&guest).send().assert_error(404, "NOT_FOUND");

    let created = app.post(&invitations).as_user(&admin).json(json!({"userId": guest.id})).send();
    assert_eq!(created.status, 201);
    let invitation = created.json()["data"].clone();
    assert_eq!(invitation["roomId"], room["id"]);
    assert_eq!(invitation["userId"], guest.id.as_str());
    assert_eq!(invitation["invitedBy"], admin.id.as_str());
    let again = app.post(&invitations).as_user(&admin).json(json!({"userId": guest.id})).send();
    assert_eq!((again.status, again.json()["data"].clone()), (200, invitation.clone()));
    let listed = app.get(&invitations).as_user(&admin).send().json();
    assert_eq!(listed["data"], json!([invitation]));
    assert_eq!(listed["pagination"]["total"], 1);

    // An invitee sees the room but is not a member yet.
    app.get(&room_path(&room, "/members")).as_user(&guest).send().assert_error(403, "NOT_MEMBER");
    assert_eq!(join(&app, &guest, &id_of(&room))["role"], "member");
    assert_eq!(app.get(&invitations).as_user(&admin).send().json()["pagination"]["total"], 0, "joining consumes it");
    app.post(&invitations).as_user(&admin).json(json!({"userId": guest.id})).send().assert_error(409, "ALREADY_MEMBER");

    // Revoke: a pending invitation disappears; a missing one is 404.
    let other = User::new("Other");
    invite(&app, &admin, &id_of(&room), &other);
    let revoke = room_path(&room, &format!("/invitations/{}", other.id));
    assert_eq!(app.delete(&revoke).as_user(&admin).send().status, 204);
    app.delete(&revoke).as_user(&admin).send().assert_error(404, "NOT_FOUND");
    app.get(&room_path(&room, "")).as_user(&other).send().assert_error(404, "NOT_FOUND");

    let bad = app
        .post(&invitations)
        .as_user(&admin)
        .json(json!({"userId": "bob"}))
        .send()
        .assert_error(400, "VALIDATION_ERROR");
    assert_eq!(bad["details"][0]["field"], "userId");
    app.post(&invitations)
        .as_user(&admin)
        .json(json!({"userId": guest.id, "role": "admin"}))
        .send()
        .assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn moderation_changes_roles_and_removes_members() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let bob = User::new("Bob");
    let carol = User::new("Carol");
    let room = create_room(&app, &admin, json!({"name": "Lobby"}));
    join(&app, &bob, &id_of(&room));
    join(&app, &carol, &id_of(&room));
    let bob_path = room_path(&room, &format!("/members/{}", bob.id));
    let promoted = app.put(&bob_path).as_user(&admin).json(json!({"role": "admin"})).send();
    assert_eq!(promoted.status, 200);
    assert_eq!(promoted.json()["data"]["role"], "admin");
    app.put(&bob_path).as_user(&admin).json(json!({"role": "owner"})).send().assert_error(400, "VALIDATION_ERROR");
    app.put(&bob_path).as_user(&admin).json(json!({})).send().assert_error(400, "VALIDATION_ERROR");
    app.put(&bob_path).as_user(&carol).json(json!({"role": "member"})).send().assert_error(403, "FORBIDDEN");
    let stranger = room_path(&room, &format!("/members/{}", uuid::Uuid::new_v4()));
    app.put(&stranger).as_user(&admin).json(json!({"role": "admin"})).send().assert_error(404, "NOT_FOUND");
    app.delete(&stranger).as_user(&admin).send().assert_error(404, "NOT_FOUND");
    // A member may remove themselves; only admins remove others.
    let carol_path = room_path(&room, &format!("/members/{}", carol.id));
    app.delete(&bob_path).as_user(&carol).send().assert_error(403, "FORBIDDEN");
    assert_eq!(app.delete(&carol_path).as_user(&carol).send().status, 204);
    app.delete(&carol_path).as_user(&carol).send().assert_error(404, "NOT_FOUND");
    assert_eq!(app.delete(&bob_path).as_user(&admin).send().status, 204);
    assert_eq!(member_count(&app, &admin, &room), 1);
    app.put(&room_path(&room, "/members/nope"))
        .as_user(&admin)
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
        let room = create_room(&app, &admin, json!({"name": format!("m-{private}"), "isPrivate": private}));
        let id = id_of(&room);
        for user in [&member, &target] {
            if private {
                invite(&app, &admin, &id, user);
            }
            join(&app, user, &id);
        }
        invite(&app, &admin, &id, &invitee);
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
    let room = create_room(&app, &admin, json!({"name": "Vault", "isPrivate": true}));
    app.post(&room_path(&room, "/join")).as_user(&outsider).send().assert_error(404, "NOT_FOUND");
    app.get(&room_path(&room, "/members")).as_user(&outsider).send().assert_error(404, "NOT_FOUND");
    app.delete(&room_path(&room, "")).as_user(&admin).send();
    invite_after_delete_is_404(&app, &admin, &room);
}

fn invite_after_delete_is_404(app: &TestApp, admin: &User, room: &Value) {
    app.post(&room_path(room, "/invitations"))
        .as_user(admin)
        .json(json!({"userId": uuid::Uuid::new_v4()}))
        .send()
        .assert_error(404, "NOT_FOUND");
    app.post(&room_path(room, "/join")).as_user(admin).send().assert_error(404, "NOT_FOUND");
    app.get(&room_path(room, "/members")).as_user(admin).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn routes_that_ignore_their_body_still_refuse_one_over_64_kib() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let room = create_room(&app, &admin, json!({"name": "Lobby"}));
    let huge = "x".repeat(64 * 1024 + 1);
    app.post(&room_path(&room, "/join"))
        .as_user(&User::new("Bob"))
        .raw_body("text/plain", huge)
        .send()
        .assert_error(413, "PAYLOAD_TOO_LARGE");
}

/// Needs the test host's own switches (statement counter, database-down switch, host-call record): the real-Spin runs skip this module.
mod host_only {
    use super::*;

    #[test]
    fn membership_checks_cost_one_statement() {
        let app = TestApp::spawn();
        let admin = User::new("Admin");
        let room = create_room(&app, &admin, json!({"name": "Lobby"}));
        let (_, statements) =
            app.count_statements(|| app.get(&room_path(&room, "/members?limit=1")).as_user(&admin).send());
        assert_eq!(statements, 3, "access, count, page");
        let bob = User::new("Bob");
        let (_, statements) = app.count_statements(|| join(&app, &bob, &id_of(&room)));
        assert_eq!(statements, 4, "BEGIN, INSERT membership, DELETE invitation, COMMIT");
        let (_, statements) = app.count_statements(|| app.post(&room_path(&room, "/leave")).as_user(&bob).send());
        assert_eq!(statements, 1, "the guarded DELETE alone");
    }
}
