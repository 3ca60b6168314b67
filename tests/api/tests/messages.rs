//! Messages: cursor pagination, send with types and idempotency, soft delete, auto-read.

use std::collections::HashSet;

use api_tests::{
    create_room_ok, id_of, invite_ok, join_ok, room_view_ok, seed_messages, send_text_ok, TestApp, TestResponse, User,
};
use serde_json::{json, Value};

fn messages_path(room_id: &str, query: &str) -> String {
    format!("/api/rooms/{room_id}/messages{query}")
}

/// The path of one message object.
fn message_path(room_id: &str, message: &Value) -> String {
    messages_path(room_id, &format!("/{}", message["id"].as_str().unwrap()))
}

fn page_ok(app: &TestApp, user: &User, room_id: &str, query: &str) -> Value {
    let response = app.get(&messages_path(room_id, query)).as_user(user).send();
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

fn cursor(value: &Value) -> Option<String> {
    value.as_str().map(|s| s.to_owned())
}

/// `user` sends `body` to `room_id` with an `Idempotency-Key`.
fn keyed_send(app: &TestApp, user: &User, room_id: &str, key: &str, body: Value) -> TestResponse {
    app.post(&messages_path(room_id, "")).as_user(user).header("idempotency-key", key).json(body).send()
}

/// A room with a member, ready for messages.
fn room_with(app: &TestApp, admin: &User) -> String {
    id_of(&create_room_ok(app, admin, json!({"name": "Talk"})))
}

#[test]
fn a_sent_message_answers_201_with_its_location() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let response = app.post(&messages_path(&room, "")).as_user(&ada).json(json!({"content": "hello"})).send();
    assert_eq!(response.status, 201);
    let id = response.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(response.header("location").unwrap(), format!("/api/rooms/{room}/messages/{id}"));
}

#[test]
fn a_text_message_is_trimmed_and_attributed_to_its_author() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "  hello  ");
    assert_eq!(message["roomId"], room.as_str());
    assert_eq!(message["authorId"], ada.id.as_str());
    assert_eq!(message["authorName"], "Ada");
    assert_eq!(message["type"], "text");
    assert_eq!(message["content"], "hello");
    assert_eq!(message["attachment"], Value::Null);
    assert_eq!(message["deleted"], false);
    assert_eq!(message["deletedAt"], Value::Null);
}

#[test]
fn a_sent_message_reads_back_unchanged() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "hello");
    assert_eq!(app.get(&message_path(&room, &message)).as_user(&ada).send().json()["data"], message);
}

#[test]
fn sending_moves_the_rooms_last_message_at() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "hello");
    assert_eq!(room_view_ok(&app, &ada, &room)["lastMessageAt"], message["createdAt"]);
}

#[test]
fn sending_images_and_files() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let attachment =
        json!({"url": "https://cdn.example.com/cat.png", "name": "cat.png", "mimeType": "image/png", "size": 2048});
    let image = app
        .post(&messages_path(&room, ""))
        .as_user(&ada)
        .json(json!({"type": "image", "attachment": attachment, "content": "a cat"}))
        .send();
    assert_eq!(image.status, 201);
    assert_eq!(image.json()["data"]["attachment"], attachment);
    assert_eq!(image.json()["data"]["content"], "a cat");
    let file = app
        .post(&messages_path(&room, ""))
        .as_user(&ada)
        .json(json!({"type": "file", "content": "   ", "attachment": {"url": "https://x.example/r.pdf", "name": "r.pdf", "mimeType": "application/pdf", "size": 0}}))
        .send();
    assert_eq!(file.status, 201);
    assert_eq!(file.json()["data"]["content"], Value::Null, "an empty caption is null");
}

#[test]
fn message_validation_table() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let png = |url: &str, mime: &str, size: i64| json!({"type": "image", "attachment": {"url": url, "name": "p.png", "mimeType": mime, "size": size}});
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty content", json!({"content": ""}), "content"),
        ("whitespace content", json!({"content": " \n "}), "content"),
        ("missing content", json!({}), "content"),
        ("1001 characters", json!({"content": "é".repeat(1001)}), "content"),
        ("content not a string", json!({"content": 5}), "content"),
        ("unknown type", json!({"type": "video", "content": "x"}), "type"),
        (
            "attachment on text",
            json!({"content": "x", "attachment": {"url": "https://a.b/c", "name": "n", "mimeType": "a/b", "size": 1}}),
            "attachment",
        ),
        ("image without attachment", json!({"type": "image"}), "attachment"),
        ("http url", png("http://a.example/p.png", "image/png", 1), "attachment.url"),
        ("not a url", png("cat", "image/png", 1), "attachment.url"),
        ("url too long", png(&format!("https://a.example/{}", "p".repeat(2048)), "image/png", 1), "attachment.url"),
        ("image that is not image/*", png("https://a.example/p", "text/plain", 1), "attachment.mimeType"),
        ("malformed mime type", png("https://a.example/p", "image", 1), "attachment.mimeType"),
        ("negative size", png("https://a.example/p", "image/png", -1), "attachment.size"),
        ("size over 100 MiB", png("https://a.example/p", "image/png", 104_857_601), "attachment.size"),
        (
            "empty name",
            json!({"type": "file", "attachment": {"url": "https://a.example/p", "name": " ", "mimeType": "a/b", "size": 1}}),
            "attachment.name",
        ),
        (
            "long name",
            json!({"type": "file", "attachment": {"url": "https://a.example/p", "name": "n".repeat(256), "mimeType": "a/b", "size": 1}}),
            "attachment.name",
        ),
        (
            "unknown attachment field",
            json!({"type": "file", "attachment": {"url": "https://a.example/p", "name": "n", "mimeType": "a/b", "size": 1, "hash": "x"}}),
            "attachment.hash",
        ),
        (
            "size not an integer",
            json!({"type": "file", "attachment": {"url": "https://a.example/p", "name": "n", "mimeType": "a/b", "size": 1.5}}),
            "attachment.size",
        ),
        ("unknown field", json!({"content": "x", "mood": "happy"}), "mood"),
        (
            "caption too long",
            json!({"type": "file", "content": "c".repeat(1001), "attachment": {"url": "https://a.example/p", "name": "n", "mimeType": "a/b", "size": 1}}),
            "content",
        ),
    ];
    for (case, body, field) in cases {
        let response = app.post(&messages_path(&room, "")).as_user(&ada).json(body).send();
        let error = response.assert_error(400, "VALIDATION_ERROR");
        let fields: Vec<&str> =
            error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&field), "{case}: {fields:?}");
    }
    assert_eq!(page_ok(&app, &ada, &room, "")["data"], json!([]), "nothing was stored");
    assert_eq!(
        app.post(&messages_path(&room, "")).as_user(&ada).json(json!({"content": "é".repeat(1000)})).send().status,
        201
    );
}

#[test]
fn an_empty_room_has_an_empty_first_page() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let first = page_ok(&app, &ada, &room, "");
    assert_eq!(first["data"], json!([]));
    assert_eq!(first["pagination"], json!({"limit": 50, "hasMore": false, "prevCursor": null, "nextCursor": null}));
}

#[test]
fn pages_of_exactly_limit_and_limit_plus_one() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let sent: Vec<String> =
        (0..3).map(|i| send_text_ok(&app, &ada, &room, &format!("m{i}"))["id"].as_str().unwrap().to_owned()).collect();
    let exact = page_ok(&app, &ada, &room, "?limit=3");
    assert_eq!(ids(&exact), sent, "oldest to newest");
    assert_eq!(exact["pagination"]["hasMore"], false);
    assert_eq!(exact["pagination"]["prevCursor"], Value::Null, "nothing older exists");
    assert!(exact["pagination"]["nextCursor"].is_string());
    let fewer = page_ok(&app, &ada, &room, "?limit=2");
    assert_eq!(ids(&fewer), sent[1..]);
    assert_eq!(fewer["pagination"]["hasMore"], true);
    let older =
        page_ok(&app, &ada, &room, &format!("?limit=2&before={}", fewer["pagination"]["prevCursor"].as_str().unwrap()));
    assert_eq!(ids(&older), sent[..1]);
    assert_eq!(
        (older["pagination"]["hasMore"].clone(), older["pagination"]["prevCursor"].clone()),
        (json!(false), Value::Null)
    );
}

#[test]
fn walking_the_whole_history_both_ways_never_skips_or_repeats() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    // 1 000 messages sharing one timestamp: order comes from the store's sequence, not the clock.
    let all = seed_messages(&app, &room, &ada, 1000, "2026-11-25T12:00:00.000Z");

    // Backwards from the newest page with `before`, until nothing older exists.
    let mut backwards: Vec<String> = Vec::new();
    let mut oldest_page = page_ok(&app, &ada, &room, "?limit=37");
    loop {
        let mut chunk = ids(&oldest_page);
        chunk.extend(backwards);
        backwards = chunk;
        let Some(prev) = cursor(&oldest_page["pagination"]["prevCursor"]) else {
            break;
        };
        let older = page_ok(&app, &ada, &room, &format!("?limit=37&before={prev}"));
        if older["pagination"]["prevCursor"].is_null() {
            assert_eq!(older["pagination"]["hasMore"], false);
        }
        oldest_page = older;
    }
    assert!(backwards == all, "backwards walk: {} ids, {} expected", backwards.len(), all.len());

    // Forwards from the oldest page with `after`, until nothing newer exists.
    let mut forwards = ids(&oldest_page);
    let mut after = cursor(&oldest_page["pagination"]["nextCursor"]).unwrap();
    loop {
        let newer = page_ok(&app, &ada, &room, &format!("?limit=64&after={after}"));
        forwards.extend(ids(&newer));
        after = cursor(&newer["pagination"]["nextCursor"]).unwrap();
        if newer["pagination"]["hasMore"] == false {
            break;
        }
    }
    assert!(forwards == all, "forwards walk: {} ids, {} expected", forwards.len(), all.len());
    let unique: HashSet<&String> = forwards.iter().collect();
    assert_eq!(unique.len(), 1000);
    let idle = page_ok(&app, &ada, &room, &format!("?after={after}"));
    assert_eq!((idle["data"].clone(), idle["pagination"]["nextCursor"].clone()), (json!([]), json!(after)));
}

#[test]
fn polling_after_the_last_cursor_sees_new_messages_and_keeps_its_place() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let bob = User::new("Bob");
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    send_text_ok(&app, &ada, &room, "one");
    let first = page_ok(&app, &bob, &room, "");
    let next = cursor(&first["pagination"]["nextCursor"]).unwrap();
    let idle = page_ok(&app, &bob, &room, &format!("?after={next}"));
    assert_eq!(idle["data"], json!([]));
    assert_eq!(idle["pagination"], json!({"limit": 50, "hasMore": false, "prevCursor": null, "nextCursor": next}));
    let two = send_text_ok(&app, &ada, &room, "two");
    let polled = page_ok(&app, &bob, &room, &format!("?after={next}"));
    assert_eq!(ids(&polled), vec![two["id"].as_str().unwrap()]);
    assert!(polled["pagination"]["prevCursor"].is_string(), "older messages exist");
}

#[test]
fn walking_while_new_messages_arrive_misses_nothing() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let mut expected: Vec<String> = (0..10)
        .map(|i| send_text_ok(&app, &ada, &room, &format!("early {i}"))["id"].as_str().unwrap().to_owned())
        .collect();
    let mut seen = ids(&page_ok(&app, &ada, &room, "?limit=100"));
    let mut after = cursor(&page_ok(&app, &ada, &room, "?limit=1")["pagination"]["nextCursor"]).unwrap();
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            (0..30)
                .map(|i| send_text_ok(&app, &ada, &room, &format!("late {i}"))["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        });
        for _ in 0..200 {
            let p = page_ok(&app, &ada, &room, &format!("?limit=3&after={after}"));
            seen.extend(ids(&p));
            after = cursor(&p["pagination"]["nextCursor"]).unwrap();
            if writer.is_finished() && p["pagination"]["hasMore"] == false && p["data"].as_array().unwrap().is_empty() {
                break;
            }
        }
        expected.extend(writer.join().unwrap());
    });
    // Drain anything that arrived after the last poll.
    loop {
        let p = page_ok(&app, &ada, &room, &format!("?limit=100&after={after}"));
        if p["data"].as_array().unwrap().is_empty() {
            break;
        }
        seen.extend(ids(&p));
        after = cursor(&p["pagination"]["nextCursor"]).unwrap();
    }
    assert_eq!(seen, expected);
}

#[test]
fn cursors_are_validated() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let other = room_with_name(&app, &ada, "Other");
    send_text_ok(&app, &ada, &room, "x");
    send_text_ok(&app, &ada, &other, "y");
    let foreign = cursor(&page_ok(&app, &ada, &other, "")["pagination"]["nextCursor"]).unwrap();
    let mine = cursor(&page_ok(&app, &ada, &room, "")["pagination"]["nextCursor"]).unwrap();
    let mut altered = mine.clone().into_bytes();
    altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for query in [
        format!("?before={foreign}"),
        format!("?after={altered}"),
        "?before=garbage".to_owned(),
        "?after=".to_owned(),
        format!("?before={mine}&after={mine}"),
        format!("?before={mine}&before={mine}"),
        "?limit=0".to_owned(),
        "?limit=101".to_owned(),
        "?limit=ten".to_owned(),
    ] {
        app.get(&messages_path(&room, &query)).as_user(&ada).send().assert_error(400, "VALIDATION_ERROR");
    }
}

fn room_with_name(app: &TestApp, admin: &User, name: &str) -> String {
    id_of(&create_room_ok(app, admin, json!({"name": name})))
}

#[test]
fn idempotent_retries_create_one_message() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let send = |key: &str, body: Value| keyed_send(&app, &ada, &room, key, body);
    let first = send("key-1", json!({"content": "hello"}));
    assert_eq!(first.status, 201);
    let retry = send("key-1", json!({"type": "text", "content": "  hello "}));
    assert_eq!(retry.status, 200, "same body after validation");
    assert_eq!(retry.json()["data"], first.json()["data"]);
    send("key-1", json!({"content": "different"})).assert_error(409, "IDEMPOTENCY_CONFLICT");
    assert_eq!(send("key-2", json!({"content": "hello"})).status, 201, "another key is another message");
    for bad in ["", "has space", &"k".repeat(129), "ключ"] {
        let response = keyed_send(&app, &ada, &room, bad, json!({"content": "x"}));
        let error = response.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(error["details"][0]["field"], "Idempotency-Key");
    }
    assert_eq!(page_ok(&app, &ada, &room, "")["data"].as_array().unwrap().len(), 2);
    // The same key in another room, or by another user, is independent.
    let bob = User::new("Bob");
    join_ok(&app, &bob, &room);
    let bobs = keyed_send(&app, &bob, &room, "key-1", json!({"content": "other"}));
    assert_eq!(bobs.status, 201);
}

#[test]
fn concurrent_retries_with_one_key_create_one_message() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let responses: Vec<TestResponse> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..10).map(|_| scope.spawn(|| keyed_send(&app, &ada, &room, "once", json!({"content": "hi"})))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 9, "{statuses:?}");
    let ids: HashSet<String> = responses.iter().map(|r| r.json()["data"]["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(page_ok(&app, &ada, &room, "")["data"].as_array().unwrap().len(), 1);
}

#[test]
fn deleting_leaves_a_tombstone_and_keeps_the_content_for_audit() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let before = send_text_ok(&app, &ada, &room, "before");
    let doomed = send_text_ok(&app, &ada, &room, "secret");
    let after = send_text_ok(&app, &ada, &room, "after");
    let path = message_path(&room, &doomed);
    assert_eq!(app.delete(&path).as_user(&ada).send().status, 204);
    assert_eq!(app.delete(&path).as_user(&ada).send().status, 204, "again: 204");
    let tombstone = app.get(&path).as_user(&ada).send().json()["data"].clone();
    assert_eq!(tombstone["deleted"], true);
    assert!(tombstone["deletedAt"].is_string());
    assert_eq!((tombstone["content"].clone(), tombstone["attachment"].clone()), (Value::Null, Value::Null));
    let history = page_ok(&app, &ada, &room, "");
    let order: Vec<&str> = history["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        vec![before["id"].as_str().unwrap(), doomed["id"].as_str().unwrap(), after["id"].as_str().unwrap()]
    );
    assert_eq!(history["data"][1]["content"], Value::Null);
    assert!(!String::from_utf8_lossy(&app.get(&messages_path(&room, "")).as_user(&ada).send().body).contains("secret"));
    let kept = app.store().query("SELECT content FROM messages WHERE id = ?1", &[doomed["id"].clone()]);
    assert_eq!(kept, vec![vec![json!("secret")]]);
    // lastMessageAt is the newest live message.
    let last = send_text_ok(&app, &ada, &room, "newest");
    app.delete(&message_path(&room, &last)).as_user(&ada).send();
    let seen = room_view_ok(&app, &ada, &room);
    assert_eq!(seen["lastMessageAt"], after["createdAt"]);
}

#[test]
fn delete_authorization_matrix() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let author = User::new("Author");
    let member = User::new("Member");
    let outsider = User::new("Outsider");
    for private in [false, true] {
        let room = id_of(&create_room_ok(&app, &admin, json!({"name": format!("d-{private}"), "isPrivate": private})));
        for user in [&author, &member] {
            if private {
                invite_ok(&app, &admin, &room, user);
            }
            join_ok(&app, user, &room);
        }
        let hidden = if private { 404 } else { 403 };
        let cases: Vec<(&User, u16)> = vec![(&outsider, hidden), (&member, 403), (&author, 204), (&admin, 204)];
        for (caller, expected) in cases {
            let message = send_text_ok(&app, &author, &room, "x");
            let path = message_path(&room, &message);
            let response = app.delete(&path).as_user(caller).send();
            assert_eq!(response.status, expected, "private={private} {:?}", caller.name);
        }
        let unknown = messages_path(&room, &format!("/{}", uuid::Uuid::new_v4()));
        app.delete(&unknown).as_user(&admin).send().assert_error(404, "NOT_FOUND");
        app.delete(&messages_path(&room, "/nope")).as_user(&admin).send().assert_error(400, "VALIDATION_ERROR");
    }
    // A message of another room is 404 under this one.
    let one = room_with_name(&app, &admin, "One");
    let two = room_with_name(&app, &admin, "Two");
    let message = send_text_ok(&app, &admin, &one, "x");
    let wrong = message_path(&two, &message);
    app.delete(&wrong).as_user(&admin).send().assert_error(404, "NOT_FOUND");
    app.get(&wrong).as_user(&admin).send().assert_error(404, "NOT_FOUND");
}

#[test]
fn reading_moves_the_marker_and_unread_counts_follow() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let bob = User::new("Bob");
    let room = room_with(&app, &ada);
    send_text_ok(&app, &ada, &room, "before bob");
    join_ok(&app, &bob, &room);
    let unread = |user: &User| room_view_ok(&app, user, &room)["unreadCount"].as_i64().unwrap();
    assert_eq!(unread(&bob), 0, "joining makes no history unread");
    for i in 0..5 {
        send_text_ok(&app, &ada, &room, &format!("m{i}"));
    }
    send_text_ok(&app, &bob, &room, "bob's own");
    assert_eq!(unread(&bob), 5, "own messages are not unread");
    assert_eq!(unread(&ada), 1);
    let listed = app.get("/api/rooms").as_user(&bob).send().json();
    assert_eq!(listed["data"][0]["unreadCount"], 5);
    // Reading an older page does not move the marker back; reading the newest clears it.
    let newest = page_ok(&app, &bob, &room, "?limit=2");
    assert_eq!(unread(&bob), 0);
    page_ok(&app, &bob, &room, &format!("?limit=1&before={}", newest["pagination"]["prevCursor"].as_str().unwrap()));
    assert_eq!(unread(&bob), 0);
    let deleted = send_text_ok(&app, &ada, &room, "soon gone");
    send_text_ok(&app, &ada, &room, "stays");
    app.delete(&message_path(&room, &deleted)).as_user(&ada).send();
    assert_eq!(unread(&bob), 1, "deleted messages are not unread");
    assert_eq!(unread(&User::new("Stranger")), 0, "0 for non-members");
}

#[test]
fn etags_make_polling_cheap_and_still_mark_read() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let bob = User::new("Bob");
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    send_text_ok(&app, &ada, &room, "one");
    let first = app.get(&messages_path(&room, "")).as_user(&ada).send();
    let etag = first.header("etag").unwrap().to_owned();
    let for_bob = app.get(&messages_path(&room, "")).as_user(&bob).header("if-none-match", &etag).send();
    assert_eq!(for_bob.status, 304, "the same page has the same ETag for every member");
    assert!(for_bob.body.is_empty());
    assert_eq!(for_bob.header("etag"), Some(etag.as_str()));
    let unread = room_view_ok(&app, &bob, &room)["unreadCount"].clone();
    assert_eq!(unread, 0, "a 304 marks read like the 200 it stands for");
    send_text_ok(&app, &ada, &room, "two");
    let changed = app.get(&messages_path(&room, "")).as_user(&ada).header("if-none-match", &etag).send();
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
}

#[test]
fn if_none_match_on_several_lines_is_read_as_one_list() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    send_text_ok(&app, &ada, &room, "one");
    let etag = app.get(&messages_path(&room, "")).as_user(&ada).send().header("etag").unwrap().to_owned();
    let poll = app.get(&messages_path(&room, "")).as_user(&ada).header("if-none-match", "\"stale\"");
    let poll = poll.header("if-none-match", &etag).send();
    assert_eq!(poll.status, 304, "the second line names the current page");
}

#[test]
fn an_idempotency_key_given_twice_is_refused_and_stores_nothing() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let send = app.post(&messages_path(&room, "")).as_user(&ada).header("idempotency-key", "first");
    let response = send.header("idempotency-key", "second").json(json!({"content": "hello"})).send();
    let error = response.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(error["details"][0]["field"], "Idempotency-Key");
    assert_eq!(page_ok(&app, &ada, &room, "")["data"].as_array().unwrap().len(), 0);
}

#[test]
fn only_members_read_and_write_messages() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let outsider = User::new("Outsider");
    let invitee = User::new("Invitee");
    let public = room_with(&app, &admin);
    let private = id_of(&create_room_ok(&app, &admin, json!({"name": "Private", "isPrivate": true})));
    invite_ok(&app, &admin, &private, &invitee);
    let message = send_text_ok(&app, &admin, &public, "x");
    let one = format!("/{}", message["id"].as_str().unwrap());
    app.get(&messages_path(&public, "")).as_user(&outsider).send().assert_error(403, "NOT_MEMBER");
    app.post(&messages_path(&public, ""))
        .as_user(&outsider)
        .json(json!({"content": "hi"}))
        .send()
        .assert_error(403, "NOT_MEMBER");
    app.get(&messages_path(&public, &one)).as_user(&outsider).send().assert_error(403, "NOT_MEMBER");
    app.get(&messages_path(&private, "")).as_user(&outsider).send().assert_error(404, "NOT_FOUND");
    app.post(&messages_path(&private, ""))
        .as_user(&outsider)
        .json(json!({"content": "hi"}))
        .send()
        .assert_error(404, "NOT_FOUND");
    app.get(&messages_path(&private, "")).as_user(&invitee).send().assert_error(403, "NOT_MEMBER");
    keyed_send(&app, &invitee, &private, "k", json!({"content": "hi"})).assert_error(403, "NOT_MEMBER");
    app.get(&messages_path(&public, "")).send().assert_error(401, "UNAUTHORIZED");
    app.get(&messages_path(&uuid::Uuid::new_v4().to_string(), ""))
        .as_user(&admin)
        .send()
        .assert_error(404, "NOT_FOUND");
    let response = app.request("PUT", &messages_path(&public, "")).as_user(&admin).send();
    response.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(response.header("allow"), Some("GET, POST"));
}

#[test]
fn an_author_who_left_a_private_room_cannot_reach_its_messages() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let author = User::new("Author");
    let room = id_of(&create_room_ok(&app, &admin, json!({"name": "Private", "isPrivate": true})));
    invite_ok(&app, &admin, &room, &author);
    join_ok(&app, &author, &room);
    let message = send_text_ok(&app, &author, &room, "mine");
    assert_eq!(app.post(&format!("/api/rooms/{room}/leave")).as_user(&author).send().status, 204);
    let path = message_path(&room, &message);
    app.delete(&path).as_user(&author).send().assert_error(404, "NOT_FOUND");
    assert_eq!(app.get(&path).as_user(&admin).send().json()["data"]["deleted"], false);
}

#[test]
fn a_sender_who_left_cannot_replay_their_key() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let bob = User::new("Bob");
    let room = room_with(&app, &admin);
    join_ok(&app, &bob, &room);
    assert_eq!(keyed_send(&app, &bob, &room, "k", json!({"content": "hi"})).status, 201);
    assert_eq!(app.post(&format!("/api/rooms/{room}/leave")).as_user(&bob).send().status, 204);
    keyed_send(&app, &bob, &room, "k", json!({"content": "hi"})).assert_error(403, "NOT_MEMBER");
}

#[test]
fn idempotency_keys_expire_after_24_hours() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let send = || keyed_send(&app, &ada, &room, "daily", json!({"content": "same"}));
    let first = send();
    assert_eq!(first.status, 201);
    assert_eq!(send().status, 200);
    app.store()
        .execute("UPDATE idempotency_keys SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-25 hours')", &[]);
    let after_expiry = send();
    assert_eq!(after_expiry.status, 201, "an expired key starts afresh");
    assert_ne!(after_expiry.json()["data"]["id"], first.json()["data"]["id"]);
    let kept = app.store().count("SELECT count(*) FROM idempotency_keys", &[]);
    assert_eq!(kept, 1, "the expired key was purged");
}

#[test]
fn a_keyed_send_purges_expired_keys_of_senders_who_stopped_sending() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let bob = User::new("Bob");
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    let keyed = |user: &User, key: &str| keyed_send(&app, user, &room, key, json!({"content": key}));
    for i in 0..3 {
        assert_eq!(keyed(&bob, &format!("bob-{i}")).status, 201);
    }
    app.store()
        .execute("UPDATE idempotency_keys SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-25 hours')", &[]);
    assert_eq!(keyed(&ada, "ada-0").status, 201);
    let bobs = app.store().count("SELECT count(*) FROM idempotency_keys WHERE user_id = ?1", &[json!(bob.id)]);
    assert_eq!(bobs, 0);
}

#[test]
fn one_keyed_send_purges_a_bounded_batch_of_expired_keys() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "old");
    let backlog = 40;
    for i in 0..backlog {
        app.store().execute(
            "INSERT INTO idempotency_keys (user_id, room_id, idempotency_key, request_hash, message_id, created_at) \
             VALUES (?1, ?2, ?3, 'h', ?4, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-25 hours'))",
            &[json!(ada.id), json!(room), json!(format!("old-{i}")), message["id"].clone()],
        );
    }
    let sent = keyed_send(&app, &ada, &room, "new", json!({"content": "x"}));
    assert_eq!(sent.status, 201);
    let left = app.store().count("SELECT count(*) FROM idempotency_keys WHERE idempotency_key LIKE 'old-%'", &[]);
    assert_eq!(left, backlog - 16, "the LIMIT of the purge in trigger messages_claim_idempotency_key");
}

/// Needs the test host's own switches (statement counter, database-down switch, host-call record): the real-Spin runs skip this module.
mod host_only {
    use super::*;

    #[test]
    fn a_page_costs_the_same_statements_for_any_limit_and_depth() {
        let app = TestApp::spawn();
        let ada = User::new("Ada");
        let room = room_with(&app, &ada);
        seed_messages(&app, &room, &ada, 10_000, "2026-11-25T12:00:00.000Z");
        let deep = {
            let mut p = page_ok(&app, &ada, &room, "?limit=100");
            for _ in 0..80 {
                p = page_ok(
                    &app,
                    &ada,
                    &room,
                    &format!("?limit=100&before={}", p["pagination"]["prevCursor"].as_str().unwrap()),
                );
            }
            p["pagination"]["prevCursor"].as_str().unwrap().to_owned()
        };
        let count = |query: &str| app.count_statements(|| page_ok(&app, &ada, &room, query)).1;
        // A page that moves the read marker: access with the page, marker update, whatever the limit.
        send_text_ok(&app, &ada, &room, "newest");
        let moving_1 = count("?limit=1");
        send_text_ok(&app, &ada, &room, "newer still");
        let moving_100 = count("?limit=100");
        assert_eq!([moving_1, moving_100], [2, 2]);
        // Re-reading the newest page or reading deep history: one statement, whatever the limit or depth.
        let first_1 = count("?limit=1");
        let first_100 = count("?limit=100");
        let deep_1 = count(&format!("?limit=1&before={deep}"));
        let deep_100 = count(&format!("?limit=100&before={deep}"));
        assert_eq!([first_1, first_100, deep_1, deep_100], [1, 1, 1, 1]);
        let (_, send) = app.count_statements(|| send_text_ok(&app, &ada, &room, "x"));
        assert_eq!(send, 1, "the guarded INSERT alone");
    }

    #[test]
    fn a_keyed_send_costs_one_statement() {
        let app = TestApp::spawn();
        let ada = User::new("Ada");
        let room = room_with(&app, &ada);
        let send = || keyed_send(&app, &ada, &room, "k", json!({"content": "x"}));
        let (created, statements) = app.count_statements(send);
        assert_eq!((created.status, statements), (201, 1), "the guarded INSERT; its trigger claims the key");
    }

    #[test]
    fn a_replayed_send_costs_the_refused_insert_and_one_read() {
        let app = TestApp::spawn();
        let ada = User::new("Ada");
        let room = room_with(&app, &ada);
        let send = || keyed_send(&app, &ada, &room, "k", json!({"content": "x"}));
        send();
        let (replayed, statements) = app.count_statements(send);
        assert_eq!((replayed.status, statements), (200, 2), "the INSERT that inserts nothing, the original");
    }

    /// Every kind of write the app makes, on a fresh store (so the migrations run too): sends
    /// (plain and keyed), a read that moves the marker, message delete, room update, invitation,
    /// join_ok, role change, removal, leave, room delete.
    fn exercise_every_write(app: &TestApp) {
        let succeeded =
            |response: TestResponse| assert!(response.status < 300, "{}", String::from_utf8_lossy(&response.body));
        let ada = User::new("Ada");
        let bob = User::new("Bob");
        let room = room_with(app, &ada);
        join_ok(app, &bob, &room);
        let message = send_text_ok(app, &bob, &room, "x");
        succeeded(keyed_send(app, &bob, &room, "k", json!({"content": "y"})));
        page_ok(app, &bob, &room, "");
        succeeded(app.delete(&message_path(&room, &message)).as_user(&ada).send());
        succeeded(app.put(&format!("/api/rooms/{room}")).as_user(&ada).json(json!({"name": "Renamed"})).send());
        let carol = User::new("Carol");
        invite_ok(app, &ada, &room, &carol);
        join_ok(app, &carol, &room);
        let carol_path = format!("/api/rooms/{room}/members/{}", carol.id);
        succeeded(app.put(&carol_path).as_user(&ada).json(json!({"role": "admin"})).send());
        succeeded(app.delete(&carol_path).as_user(&ada).send());
        succeeded(app.post(&format!("/api/rooms/{room}/leave")).as_user(&bob).send());
        succeeded(app.delete(&format!("/api/rooms/{room}")).as_user(&ada).send());
    }

    #[test]
    fn the_app_never_asks_the_host_for_changes_or_last_insert_rowid() {
        let app = TestApp::spawn();
        exercise_every_write(&app);
        assert_eq!(app.host().sqlite().host_row_call_count(), 0, "libSQL answers 0 to both");
    }

    #[test]
    fn the_app_never_sends_two_statements_in_one_execute() {
        let app = TestApp::spawn();
        exercise_every_write(&app);
        assert_eq!(app.host().sqlite().ignored_tail_count(), 0, "Spin would silently run only the first");
    }
}
