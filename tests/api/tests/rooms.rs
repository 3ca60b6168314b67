//! Rooms: `GET/POST /api/rooms`, `GET/PUT/DELETE /api/rooms/:id`.

use api_tests::{assert_status, create_room_ok, id_of, invite_ok, join_ok, TestApp, User};
use serde_json::{json, Value};

fn names(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn creating_a_room_makes_the_caller_its_admin() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let response = app
        .post("/api/rooms")
        .as_user(&ada)
        .json(json!({"name": "  General  ", "description": "Talk", "isPrivate": false}))
        .send();
    assert_eq!(response.status, 201);
    let room = response.json()["data"].clone();
    assert_eq!(response.header("location"), Some(format!("/api/rooms/{}", room["id"].as_str().unwrap()).as_str()));
    assert_eq!(room["name"], "General");
    assert_eq!(room["description"], "Talk");
    assert_eq!(room["isPrivate"], false);
    assert_eq!(room["createdBy"], ada.id.as_str());
    assert_eq!(room["memberCount"], 1);
    assert_eq!(room["isMember"], true);
    assert_eq!(room["role"], "admin");
    assert_eq!(room["unreadCount"], 0);
    assert_eq!(room["lastMessageAt"], Value::Null);
    let created_at = room["createdAt"].as_str().unwrap();
    assert_eq!(created_at.len(), "2026-11-25T14:43:12.123Z".len(), "{created_at}");
    assert!(created_at.ends_with('Z'));

    let fetched = app.get(&format!("/api/rooms/{}", room["id"].as_str().unwrap())).as_user(&ada).send();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json()["data"], room);
}

#[test]
fn a_room_and_its_admin_are_created_together() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    create_room_ok(&app, &ada, json!({"name": "General"}));
    let orphans = app.store().count(
        "SELECT count(*) FROM rooms r WHERE NOT EXISTS \
         (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.role = 'admin')",
        &[],
    );
    assert_eq!(orphans, 0);
}

#[test]
fn room_validation_table() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("name of 2 characters", json!({"name": "ab"}), Some("name")),
        ("name of 3 characters", json!({"name": "abc"}), None),
        ("name of 100 characters", json!({"name": "n".repeat(100)}), None),
        ("name of 101 characters", json!({"name": "m".repeat(101)}), Some("name")),
        ("100 multi-byte characters", json!({"name": "é".repeat(100)}), None),
        ("101 multi-byte characters", json!({"name": "ü".repeat(101)}), Some("name")),
        ("3 emoji", json!({"name": "🎉🎉🎉"}), None),
        ("whitespace-only name", json!({"name": " \t\u{3000} "}), Some("name")),
        ("missing name", json!({"description": "x"}), Some("name")),
        ("description of 500", json!({"name": "desc500", "description": "d".repeat(500)}), None),
        ("description of 501", json!({"name": "desc501", "description": "d".repeat(501)}), Some("description")),
        ("name not a string", json!({"name": 42}), Some("name")),
        ("isPrivate not a bool", json!({"name": "typed", "isPrivate": "yes"}), Some("isPrivate")),
        ("description not a string", json!({"name": "typed2", "description": 1}), Some("description")),
        ("unknown field", json!({"name": "extra", "topic": "x"}), Some("topic")),
        ("not an object", json!(["name"]), Some("body")),
    ];
    for (case, body, invalid_field) in cases {
        let response = app.post("/api/rooms").as_user(&ada).json(body).send();
        match invalid_field {
            None => assert_eq!(response.status, 201, "{case}: {}", String::from_utf8_lossy(&response.body)),
            Some(field) => {
                let error = response.assert_error(400, "VALIDATION_ERROR");
                let fields: Vec<&str> =
                    error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
                assert!(fields.contains(&field), "{case}: {fields:?}");
            }
        }
    }
}

#[test]
fn bodies_must_be_json_objects_of_at_most_64_kib() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    app.post("/api/rooms")
        .as_user(&ada)
        .raw_body("text/plain", "name=x")
        .send()
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.post("/api/rooms").as_user(&ada).send().assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.post("/api/rooms").as_user(&ada).raw_body("application/json", "").send().assert_error(400, "INVALID_JSON");
    app.post("/api/rooms")
        .as_user(&ada)
        .raw_body("application/json", "{\"name\":")
        .send()
        .assert_error(400, "INVALID_JSON");
    let huge = json!({"name": "big", "description": "x".repeat(70 * 1024)});
    app.post("/api/rooms").as_user(&ada).json(huge).send().assert_error(413, "PAYLOAD_TOO_LARGE");
    let charset =
        app.post("/api/rooms").as_user(&ada).raw_body("application/json; charset=utf-8", r#"{"name":"csx"}"#).send();
    assert_eq!(charset.status, 201);
}

#[test]
fn room_names_are_unique_ignoring_case() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    create_room_ok(&app, &ada, json!({"name": "Élan"}));
    for taken in ["élan", "ÉLAN", "E\u{301}lan", "  élan "] {
        app.post("/api/rooms").as_user(&ada).json(json!({"name": taken})).send().assert_error(409, "ROOM_NAME_TAKEN");
    }
    assert_eq!(app.post("/api/rooms").as_user(&ada).json(json!({"name": "Elan"})).send().status, 201);
}

#[test]
fn concurrent_duplicate_creates_produce_exactly_one_room() {
    let app = TestApp::spawn();
    assert_eq!(app.get("/ready").send().status, 200);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let app = &app;
                scope.spawn(move || {
                    let user = User::new(&format!("user{i}"));
                    app.post("/api/rooms").as_user(&user).json(json!({"name": "Race"})).send().status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?} {}", app.logs());
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 7, "{statuses:?}");
    let list = app.get("/api/rooms?search=race").as_user(&User::new("Eve")).send().json();
    assert_eq!(list["pagination"]["total"], 1);
}

#[test]
fn listing_is_newest_first_and_shows_public_rooms_and_the_callers_private_ones() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let bob = User::new("Bob");
    create_room_ok(&app, &ada, json!({"name": "first"}));
    create_room_ok(&app, &ada, json!({"name": "ada-private", "isPrivate": true}));
    create_room_ok(&app, &bob, json!({"name": "bob-private", "isPrivate": true}));
    create_room_ok(&app, &bob, json!({"name": "last"}));
    let for_ada = app.get("/api/rooms").as_user(&ada).send().json();
    assert_eq!(names(&for_ada), vec!["last", "ada-private", "first"]);
    assert_eq!(for_ada["pagination"], json!({"page": 1, "limit": 20, "total": 3, "hasMore": false}));
    let joined = app.get("/api/rooms?joined=true").as_user(&ada).send().json();
    assert_eq!(names(&joined), vec!["ada-private", "first"]);
    let not_filtered = app.get("/api/rooms?joined=false").as_user(&ada).send().json();
    assert_eq!(names(&not_filtered).len(), 3);
    let row = &for_ada["data"][0];
    assert_eq!(
        (row["isMember"].clone(), row["role"].clone(), row["unreadCount"].clone()),
        (json!(false), Value::Null, json!(0))
    );
}

#[test]
fn the_listing_total_follows_rooms_made_private_public_and_deleted() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let eve = User::new("Eve");
    let rooms: Vec<String> =
        (0..3).map(|i| id_of(&create_room_ok(&app, &ada, json!({"name": format!("room-{i}")})))).collect();
    let total = |user: &User| app.get("/api/rooms").as_user(user).send().json()["pagination"]["total"].clone();
    let change = |room: &str, body: Value| {
        assert_eq!(app.put(&format!("/api/rooms/{room}")).as_user(&ada).json(body).send().status, 200);
    };
    change(&rooms[0], json!({"isPrivate": true}));
    assert_eq!((total(&eve), total(&ada)), (json!(2), json!(3)));
    assert_eq!(app.delete(&format!("/api/rooms/{}", rooms[1])).as_user(&ada).send().status, 204);
    assert_eq!((total(&eve), total(&ada)), (json!(1), json!(2)));
    change(&rooms[0], json!({"isPrivate": false}));
    change(&rooms[0], json!({"name": "renamed"}));
    assert_eq!((total(&eve), total(&ada)), (json!(2), json!(2)));
}

#[test]
fn joined_and_invited_listings_total_their_own_rooms() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let bob = User::new("Bob");
    for i in 0..3 {
        create_room_ok(&app, &ada, json!({"name": format!("public-{i}")}));
    }
    let joined = create_room_ok(&app, &ada, json!({"name": "joined"}));
    join_ok(&app, &bob, &id_of(&joined));
    let private = create_room_ok(&app, &ada, json!({"name": "invited", "isPrivate": true}));
    invite_ok(&app, &ada, &id_of(&private), &bob);
    let list = |query: &str| app.get(&format!("/api/rooms?{query}")).as_user(&bob).send().json();
    let joined_list = list("joined=true");
    assert_eq!(
        (names(&joined_list), joined_list["pagination"]["total"].clone()),
        (vec!["joined".to_owned()], json!(1))
    );
    let invited_list = list("invited=true");
    assert_eq!(
        (names(&invited_list), invited_list["pagination"]["total"].clone()),
        (vec!["invited".to_owned()], json!(1))
    );
    assert_eq!(list("invited=true&joined=true")["pagination"]["total"], 0);
    assert_eq!(list("")["pagination"]["total"], 4, "the public rooms: an invitation alone lists nothing");
}

#[test]
fn search_matches_name_or_description_literally_and_ignoring_case() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    create_room_ok(&app, &ada, json!({"name": "100% Rust"}));
    create_room_ok(&app, &ada, json!({"name": "snake_case fans"}));
    create_room_ok(&app, &ada, json!({"name": "Plain", "description": "All about ÉTÉ and more"}));
    create_room_ok(&app, &ada, json!({"name": "1000 Rusty nails"}));
    let search = |term: &str| names(&app.get(&format!("/api/rooms?search={term}")).as_user(&ada).send().json());
    assert_eq!(search("100%25"), vec!["100% Rust"]);
    assert_eq!(search("e_c"), vec!["snake_case fans"]);
    assert_eq!(search("%25"), vec!["100% Rust"]);
    assert_eq!(search("_"), vec!["snake_case fans"]);
    assert_eq!(search("RUST"), vec!["1000 Rusty nails", "100% Rust"]);
    assert_eq!(search("%C3%A9t%C3%A9"), vec!["Plain"]);
    assert_eq!(search("%C3%89"), vec!["Plain"], "one character, folded");
    assert!(search("nothing-like-this").is_empty());
    assert!(search("%22%20OR%20%22").is_empty(), "a double quote is a character like any other");
    assert!(search("%00%00%00").is_empty(), "so is U+0000");
    app.get(&format!("/api/rooms?search={}", "a".repeat(101)))
        .as_user(&ada)
        .send()
        .assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn page_pagination_edges() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    for i in 0..6 {
        create_room_ok(&app, &ada, json!({"name": format!("room-{i}")}));
    }
    for bad in [
        "page=0",
        "limit=0",
        "limit=101",
        "page=abc",
        "limit=1.5",
        "page=-1",
        "page=1&page=2",
        "joined=yes",
        "invited=1",
    ] {
        let error = app.get(&format!("/api/rooms?{bad}")).as_user(&ada).send().assert_error(400, "VALIDATION_ERROR");
        assert!(!error["details"].as_array().unwrap().is_empty(), "{bad}");
    }
    let page = |query: &str| app.get(&format!("/api/rooms?{query}")).as_user(&ada).send().json();
    let exact = page("page=2&limit=3");
    assert_eq!(names(&exact), vec!["room-2", "room-1", "room-0"]);
    assert_eq!(exact["pagination"], json!({"page": 2, "limit": 3, "total": 6, "hasMore": false}));
    assert_eq!(page("page=1&limit=3")["pagination"]["hasMore"], true);
    let past = page("page=5&limit=3");
    assert_eq!(past["data"], json!([]));
    assert_eq!(past["pagination"], json!({"page": 5, "limit": 3, "total": 6, "hasMore": false}));
    assert_eq!(page("limit=100")["pagination"]["total"], 6);
    assert_eq!(names(&page("page=3&limit=2&unknown=1")), vec!["room-1", "room-0"]);
}

#[test]
fn getting_a_room_checks_the_id_and_visibility() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let eve = User::new("Eve");
    let private = create_room_ok(&app, &ada, json!({"name": "secret", "isPrivate": true}));
    let path = format!("/api/rooms/{}", private["id"].as_str().unwrap());
    app.get(&path).as_user(&eve).send().assert_error(404, "NOT_FOUND");
    assert_eq!(app.get(&path).as_user(&ada).send().status, 200);
    let error = app.get("/api/rooms/not-a-uuid").as_user(&ada).send().assert_error(400, "VALIDATION_ERROR");
    assert_eq!(error["details"][0]["field"], "id");
    app.get(&format!("/api/rooms/{}", uuid::Uuid::new_v4())).as_user(&ada).send().assert_error(404, "NOT_FOUND");
}

/// A room named General with a description, and its path.
fn general(app: &TestApp, admin: &User) -> (Value, String) {
    let room = create_room_ok(app, admin, json!({"name": "General", "description": "old"}));
    let path = format!("/api/rooms/{}", id_of(&room));
    (room, path)
}

#[test]
fn an_update_changes_only_the_fields_it_names() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let (_, path) = general(&app, &ada);
    let updated = app.put(&path).as_user(&ada).json(json!({"isPrivate": true})).send();
    assert_eq!(updated.status, 200);
    let updated = updated.json()["data"].clone();
    assert_eq!(
        (updated["name"].clone(), updated["description"].clone(), updated["isPrivate"].clone()),
        (json!("General"), json!("old"), json!(true))
    );
}

#[test]
fn an_update_moves_updated_at_and_keeps_created_at() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let (room, path) = general(&app, &ada);
    let updated = app.put(&path).as_user(&ada).json(json!({"isPrivate": true})).send().json()["data"].clone();
    assert!(updated["updatedAt"].as_str().unwrap() > room["updatedAt"].as_str().unwrap());
    assert_eq!(updated["createdAt"], room["createdAt"]);
}

#[test]
fn a_null_description_clears_it_and_names_are_trimmed() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let (_, path) = general(&app, &ada);
    let cleared = app.put(&path).as_user(&ada).json(json!({"description": null, "name": " Renamed "})).send().json();
    assert_eq!(
        (cleared["data"]["name"].clone(), cleared["data"]["description"].clone()),
        (json!("Renamed"), Value::Null)
    );
}

#[test]
fn an_empty_description_is_stored_as_none() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let (_, path) = general(&app, &ada);
    let empty = app.put(&path).as_user(&ada).json(json!({"description": ""})).send().json();
    assert_eq!(empty["data"]["description"], Value::Null);
}

#[test]
fn an_update_needs_at_least_one_field() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let (_, path) = general(&app, &ada);
    app.put(&path).as_user(&ada).json(json!({})).send().assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn an_updated_name_is_validated() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let (_, path) = general(&app, &ada);
    app.put(&path).as_user(&ada).json(json!({"name": "x"})).send().assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn renaming_to_another_rooms_name_in_any_case_is_a_conflict() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let (_, path) = general(&app, &ada);
    create_room_ok(&app, &ada, json!({"name": "Other"}));
    app.put(&path).as_user(&ada).json(json!({"name": "OTHER"})).send().assert_error(409, "ROOM_NAME_TAKEN");
}

#[test]
fn renaming_to_its_own_name_in_another_case_is_fine() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let (_, path) = general(&app, &ada);
    assert_eq!(app.put(&path).as_user(&ada).json(json!({"name": "GENERAL"})).send().status, 200);
}

#[test]
fn a_deleted_room_is_gone_everywhere_and_frees_its_name() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = create_room_ok(&app, &ada, json!({"name": "Doomed"}));
    let id = room["id"].as_str().unwrap();
    let path = format!("/api/rooms/{id}");
    let deleted = app.delete(&path).as_user(&ada).send();
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    app.get(&path).as_user(&ada).send().assert_error(404, "NOT_FOUND");
    app.put(&path).as_user(&ada).json(json!({"name": "Back"})).send().assert_error(404, "NOT_FOUND");
    app.delete(&path).as_user(&ada).send().assert_error(404, "NOT_FOUND");
    for sub in ["/messages", "/members", "/invitations"] {
        app.get(&format!("{path}{sub}")).as_user(&ada).send().assert_error(404, "NOT_FOUND");
    }
    app.post(&format!("{path}/messages"))
        .as_user(&ada)
        .json(json!({"content": "x"}))
        .send()
        .assert_error(404, "NOT_FOUND");
    app.post(&format!("{path}/leave")).as_user(&ada).send().assert_error(404, "NOT_FOUND");
    assert!(names(&app.get("/api/rooms").as_user(&ada).send().json()).is_empty());
    let reborn = create_room_ok(&app, &ada, json!({"name": "doomed"}));
    assert_ne!(reborn["id"], room["id"]);
    let kept = app.store().count("SELECT count(*) FROM rooms WHERE id = ?1 AND deleted_at IS NOT NULL", &[json!(id)]);
    assert_eq!(kept, 1, "soft delete keeps the row for audit");
}

#[test]
fn a_public_room_is_readable_but_only_its_admins_change_or_delete_it() {
    let app = TestApp::spawn();
    let eve = User::new("Eve");
    let public = create_room_ok(&app, &User::new("Ada"), json!({"name": "Public"}));
    let path = format!("/api/rooms/{}", id_of(&public));
    assert_eq!(app.get(&path).as_user(&eve).send().status, 200);
    app.put(&path).as_user(&eve).json(json!({"name": "Mine"})).send().assert_error(403, "FORBIDDEN");
    app.delete(&path).as_user(&eve).send().assert_error(403, "FORBIDDEN");
}

#[test]
fn an_outsider_changing_or_deleting_a_private_room_gets_404() {
    let app = TestApp::spawn();
    let eve = User::new("Eve");
    let private = create_room_ok(&app, &User::new("Ada"), json!({"name": "Private", "isPrivate": true}));
    let path = format!("/api/rooms/{}", id_of(&private));
    app.put(&path).as_user(&eve).json(json!({"name": "Mine"})).send().assert_error(404, "NOT_FOUND");
    app.delete(&path).as_user(&eve).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn every_room_route_needs_a_token() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let public = create_room_ok(&app, &ada, json!({"name": "Public"}));
    let private = create_room_ok(&app, &ada, json!({"name": "Private", "isPrivate": true}));
    for path in [format!("/api/rooms/{}", id_of(&public)), format!("/api/rooms/{}", id_of(&private))] {
        app.get(&path).send().assert_error(401, "UNAUTHORIZED");
        app.put(&path).json(json!({"name": "Mine"})).send().assert_error(401, "UNAUTHORIZED");
        app.delete(&path).send().assert_error(401, "UNAUTHORIZED");
    }
    app.get("/api/rooms").send().assert_error(401, "UNAUTHORIZED");
    app.post("/api/rooms").json(json!({"name": "anon"})).send().assert_error(401, "UNAUTHORIZED");
}

#[test]
fn wrong_methods_on_room_routes_answer_405() {
    let app = TestApp::spawn();
    let response = app.request("PATCH", "/api/rooms").send();
    response.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(response.header("allow"), Some("GET, POST"));
    let response = app.post(&format!("/api/rooms/{}", uuid::Uuid::new_v4())).send();
    assert_eq!(response.header("allow"), Some("GET, PUT, DELETE"));
}

#[test]
fn room_authorization_matrix() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let member = User::new("Member");
    let invitee = User::new("Invitee");
    let outsider = User::new("Outsider");
    // (route, caller) → expected status, for a public and a private room.
    for private in [false, true] {
        let room = create_room_ok(&app, &admin, json!({"name": format!("matrix-{private}"), "isPrivate": private}));
        let id = id_of(&room);
        if private {
            invite_ok(&app, &admin, &id, &member);
        }
        join_ok(&app, &member, &id);
        invite_ok(&app, &admin, &id, &invitee);
        let path = format!("/api/rooms/{id}");
        let hidden = if private { 404 } else { 403 };
        let table: Vec<(&str, Option<&User>, u16)> = vec![
            ("GET", None, 401),
            ("GET", Some(&outsider), if private { 404 } else { 200 }),
            ("GET", Some(&invitee), 200),
            ("GET", Some(&member), 200),
            ("GET", Some(&admin), 200),
            ("PUT", None, 401),
            ("PUT", Some(&outsider), hidden),
            ("PUT", Some(&invitee), 403),
            ("PUT", Some(&member), 403),
            ("PUT", Some(&admin), 200),
            ("DELETE", None, 401),
            ("DELETE", Some(&outsider), hidden),
            ("DELETE", Some(&invitee), 403),
            ("DELETE", Some(&member), 403),
            ("DELETE", Some(&admin), 204),
        ];
        for (method, caller, expected) in table {
            let body = (method == "PUT").then(|| json!({"description": "changed"}));
            assert_status(&app, method, &path, body, caller, expected);
        }
    }
}

#[test]
fn invitees_see_the_room_and_list_it_with_invited_true() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let guest = User::new("Guest");
    let room = create_room_ok(&app, &admin, json!({"name": "Hidden", "isPrivate": true}));
    create_room_ok(&app, &admin, json!({"name": "Open"}));
    assert_eq!(names(&app.get("/api/rooms").as_user(&guest).send().json()), vec!["Open"]);
    invite_ok(&app, &admin, &id_of(&room), &guest);
    let seen = app.get(&format!("/api/rooms/{}", id_of(&room))).as_user(&guest).send().json();
    assert_eq!((seen["data"]["isMember"].clone(), seen["data"]["role"].clone()), (json!(false), Value::Null));
    assert_eq!(names(&app.get("/api/rooms?invited=true").as_user(&guest).send().json()), vec!["Hidden"]);
    join_ok(&app, &guest, &id_of(&room));
    assert!(
        names(&app.get("/api/rooms?invited=true").as_user(&guest).send().json()).is_empty(),
        "joining consumes the invitation"
    );
    assert_eq!(names(&app.get("/api/rooms?joined=true").as_user(&guest).send().json()), vec!["Hidden"]);
}

/// Needs the test host's own switches (statement counter, database-down switch, host-call record): the real-Spin runs skip this module.
mod host_only {
    use super::*;

    #[test]
    fn listing_costs_the_same_statements_for_any_limit() {
        let app = TestApp::spawn();
        let ada = User::new("Ada");
        for i in 0..30 {
            create_room_ok(&app, &ada, json!({"name": format!("room-{i}")}));
        }
        let (small, one) = app.count_statements(|| app.get("/api/rooms?limit=1").as_user(&ada).send());
        let (large, hundred) = app.count_statements(|| app.get("/api/rooms?limit=100").as_user(&ada).send());
        assert_eq!((small.status, large.status), (200, 200));
        assert_eq!(large.json()["data"].as_array().unwrap().len(), 30);
        assert_eq!(one, hundred);
        assert_eq!(one, 1, "the page and its total are one statement");
    }

    #[test]
    fn creating_a_room_runs_its_two_inserts_in_one_transaction() {
        let app = TestApp::spawn();
        assert_eq!(app.get("/ready").send().status, 200);
        let ((), statements) = app.count_statements(|| {
            create_room_ok(&app, &User::new("Ada"), json!({"name": "General"}));
        });
        assert_eq!(statements, 4, "BEGIN IMMEDIATE, INSERT room, INSERT admin membership, COMMIT");
    }
}
