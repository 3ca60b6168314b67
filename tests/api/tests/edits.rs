//! Message edits (contract v1.2): the author corrects a message, `editedAt` is set, and every
//! earlier version is kept for the author and the room's admins.

use api_tests::{create_room_ok, id_of, join_ok, send_text_ok, TestApp, TestResponse, User};
use serde_json::{json, Value};

fn room_with(app: &TestApp, admin: &User) -> String {
    id_of(&create_room_ok(app, admin, json!({"name": "Talk"})))
}

fn message_path(room: &str, message: &Value, rest: &str) -> String {
    format!("/api/rooms/{room}/messages/{}{rest}", message["id"].as_str().unwrap())
}

fn edit(app: &TestApp, user: &User, room: &str, message: &Value, body: Value) -> TestResponse {
    app.request("PATCH", &message_path(room, message, "")).as_user(user).json(body).send()
}

#[track_caller]
fn edit_ok(app: &TestApp, user: &User, room: &str, message: &Value, content: &str) -> Value {
    let response = edit(app, user, room, message, json!({ "content": content }));
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

#[track_caller]
fn edits_ok(app: &TestApp, user: &User, room: &str, message: &Value, query: &str) -> Value {
    let response = app.get(&message_path(room, message, &format!("/edits{query}"))).as_user(user).send();
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json()
}

#[test]
fn an_author_edits_a_message_and_edited_at_is_set() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let sent = send_text_ok(&app, &ada, &room, "helo");
    assert_eq!(sent["editedAt"], Value::Null);
    let edited = edit_ok(&app, &ada, &room, &sent, "  hello  ");
    assert_eq!(edited["content"], "hello");
    assert!(edited["editedAt"].as_str().is_some_and(|at| at >= sent["createdAt"].as_str().unwrap()));
    assert_eq!((&edited["id"], &edited["createdAt"]), (&sent["id"], &sent["createdAt"]));
    let read = app.get(&message_path(&room, &sent, "")).as_user(&ada).send().json()["data"].clone();
    assert_eq!(read, edited);
}

#[test]
fn every_earlier_version_is_kept_oldest_first() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let sent = send_text_ok(&app, &ada, &room, "one");
    let second = edit_ok(&app, &ada, &room, &sent, "two");
    let third = edit_ok(&app, &ada, &room, &sent, "three");
    let edits = edits_ok(&app, &ada, &room, &sent, "");
    assert_eq!(
        edits["data"],
        json!([
            {"content": "one", "replacedAt": second["editedAt"]},
            {"content": "two", "replacedAt": third["editedAt"]},
        ])
    );
    assert_eq!(edits["pagination"], json!({"page": 1, "limit": 20, "total": 2, "hasMore": false}));
    let paged = edits_ok(&app, &ada, &room, &sent, "?page=2&limit=1");
    assert_eq!(paged["data"], json!([{"content": "two", "replacedAt": third["editedAt"]}]));
    assert_eq!(paged["pagination"], json!({"page": 2, "limit": 1, "total": 2, "hasMore": false}));
}

#[test]
fn an_edit_that_changes_nothing_records_nothing() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let sent = send_text_ok(&app, &ada, &room, "same");
    let unchanged = edit_ok(&app, &ada, &room, &sent, "  same ");
    assert_eq!(unchanged, sent);
    assert_eq!(edits_ok(&app, &ada, &room, &sent, "")["pagination"]["total"], 0);
}

#[test]
fn a_text_cannot_be_emptied() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let sent = send_text_ok(&app, &ada, &room, "text");
    for body in [json!({"content": "   "}), json!({"content": null})] {
        let refused = edit(&app, &ada, &room, &sent, body).assert_error(400, "VALIDATION_ERROR");
        assert_eq!(refused["details"][0]["field"], "content");
    }
}

#[test]
fn an_edit_body_needs_content_and_nothing_else() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let sent = send_text_ok(&app, &ada, &room, "text");
    for (body, field) in [
        (json!({}), "content"),
        (json!({"content": "x".repeat(1001)}), "content"),
        (json!({"content": "ok", "type": "image"}), "type"),
    ] {
        let refused = edit(&app, &ada, &room, &sent, body).assert_error(400, "VALIDATION_ERROR");
        assert_eq!(refused["details"][0]["field"], field);
    }
}

#[test]
fn a_caption_is_edited_and_cleared() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let image = json!({"type": "image", "content": "a cat",
        "attachment": {"url": "https://cdn.example.com/cat.png", "name": "cat.png", "mimeType": "image/png", "size": 10}});
    let sent = app.post(&format!("/api/rooms/{room}/messages")).as_user(&ada).json(image).send().json()["data"].clone();
    assert_eq!(edit_ok(&app, &ada, &room, &sent, "two cats")["content"], "two cats");
    let cleared = edit(&app, &ada, &room, &sent, json!({"content": "  "})).json()["data"].clone();
    assert_eq!((&cleared["content"], &cleared["attachment"]), (&Value::Null, &sent["attachment"]));
    let edits = edits_ok(&app, &ada, &room, &sent, "");
    let contents: Vec<&Value> = edits["data"].as_array().unwrap().iter().map(|e| &e["content"]).collect();
    assert_eq!(contents, [&json!("a cat"), &json!("two cats")]);
}

#[test]
fn a_tombstone_cannot_be_edited_but_its_edits_stay_readable() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    let sent = send_text_ok(&app, &bob, &room, "first");
    edit_ok(&app, &bob, &room, &sent, "second");
    assert_eq!(app.delete(&message_path(&room, &sent, "")).as_user(&bob).send().status, 204);
    edit(&app, &bob, &room, &sent, json!({"content": "third"})).assert_error(409, "MESSAGE_DELETED");
    for reader in [&bob, &ada] {
        assert_eq!(edits_ok(&app, reader, &room, &sent, "")["data"][0]["content"], "first");
    }
}

#[test]
fn only_the_author_edits() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    let sent = send_text_ok(&app, &bob, &room, "mine");
    edit(&app, &ada, &room, &sent, json!({"content": "an admin's"})).assert_error(403, "FORBIDDEN");
    let missing = json!({"id": uuid::Uuid::new_v4().to_string()});
    edit(&app, &ada, &room, &missing, json!({"content": "x"})).assert_error(404, "NOT_FOUND");
}

#[test]
fn an_author_who_left_can_no_longer_edit() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    let sent = send_text_ok(&app, &bob, &room, "mine");
    assert_eq!(app.post(&format!("/api/rooms/{room}/leave")).as_user(&bob).send().status, 204);
    edit(&app, &bob, &room, &sent, json!({"content": "still mine?"})).assert_error(403, "NOT_MEMBER");
}

#[test]
fn an_edit_changes_the_etag_of_every_page_holding_the_message() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let sent = send_text_ok(&app, &ada, &room, "one");
    send_text_ok(&app, &ada, &room, "two");
    let newest = app.get(&format!("/api/rooms/{room}/messages?limit=1")).as_user(&ada).send().json();
    let older = format!("?limit=1&before={}", newest["pagination"]["prevCursor"].as_str().unwrap());
    let pages = ["".to_owned(), older, "?search=one".to_owned()];
    let etags = || -> Vec<String> {
        let etag = |query: &String| {
            let response = app.get(&format!("/api/rooms/{room}/messages{query}")).as_user(&ada).send();
            assert_eq!(response.json()["data"].as_array().unwrap().iter().filter(|m| m["id"] == sent["id"]).count(), 1);
            response.header("etag").unwrap().to_owned()
        };
        pages.iter().map(etag).collect()
    };
    let before = etags();
    edit_ok(&app, &ada, &room, &sent, "one, corrected");
    let after = etags();
    assert!(before.iter().zip(&after).all(|(b, a)| b != a), "{before:?} {after:?}");
}
