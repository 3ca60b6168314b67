//! The store failing under the app, in every mode (the test host's switch, the local file
//! moved aside under `spin up`, sqld killed in the SpinKube topology): every route answers 503
//! `SERVICE_UNAVAILABLE` with `Retry-After`, `/ready` 503 `NOT_READY`, `/health` 200; service
//! comes back with the store, without a restart; and a write-heavy load through the failure
//! loses and duplicates nothing its clients were told was stored.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use api_tests::{create_room_ok, id_of, join_ok, retry_while_unavailable, send_text_ok, TestApp, User};
use serde_json::{json, Value};

/// Every `/api` route, each with a well-formed request for a room that exists.
fn well_formed_requests(room: &str, message: &str, member: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let other = uuid::Uuid::new_v4();
    vec![
        ("GET", "/api/rooms".into(), None),
        ("POST", "/api/rooms".into(), Some(json!({"name": "Another"}))),
        ("GET", format!("/api/rooms/{room}"), None),
        ("PUT", format!("/api/rooms/{room}"), Some(json!({"name": "Renamed"}))),
        ("DELETE", format!("/api/rooms/{room}"), None),
        ("POST", format!("/api/rooms/{room}/join"), None),
        ("POST", format!("/api/rooms/{room}/leave"), None),
        ("GET", format!("/api/rooms/{room}/members"), None),
        ("PUT", format!("/api/rooms/{room}/members/{member}"), Some(json!({"role": "admin"}))),
        ("DELETE", format!("/api/rooms/{room}/members/{member}"), None),
        ("POST", format!("/api/rooms/{room}/invitations"), Some(json!({"userId": other}))),
        ("GET", format!("/api/rooms/{room}/invitations"), None),
        ("DELETE", format!("/api/rooms/{room}/invitations/{other}"), None),
        ("GET", format!("/api/rooms/{room}/messages"), None),
        ("POST", format!("/api/rooms/{room}/messages"), Some(json!({"content": "hello"}))),
        ("GET", format!("/api/rooms/{room}/messages/{message}"), None),
        ("DELETE", format!("/api/rooms/{room}/messages/{message}"), None),
    ]
}

#[test]
fn while_the_store_is_down_every_api_route_answers_503_with_retry_after() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let room = id_of(&create_room_ok(&app, &admin, json!({"name": "Lobby"})));
    let member = User::new("Member");
    join_ok(&app, &member, &room);
    let message = send_text_ok(&app, &admin, &room, "before")["id"].as_str().unwrap().to_owned();
    let outage = app.take_store_down();
    for (method, path, body) in well_formed_requests(&room, &message, &member.id) {
        let mut request = app.request(method, &path).as_user(&admin);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send();
        assert_eq!(response.status, 503, "{method} {path}: {}", String::from_utf8_lossy(&response.body));
        response.assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(response.header("retry-after").is_some(), "{method} {path} without Retry-After");
    }
    drop(outage);
}

#[test]
fn while_the_store_is_down_ready_is_503_and_health_is_200() {
    let app = TestApp::spawn();
    assert_eq!(app.get("/ready").send().status, 200);
    let outage = app.take_store_down();
    app.get("/ready").send().assert_error(503, "NOT_READY");
    assert_eq!(app.get("/health").send().status, 200);
    drop(outage);
}

#[test]
fn service_comes_back_on_the_next_request_once_the_store_is_back() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let room = id_of(&create_room_ok(&app, &admin, json!({"name": "Lobby"})));
    let outage = app.take_store_down();
    app.get(&format!("/api/rooms/{room}")).as_user(&admin).send().assert_error(503, "SERVICE_UNAVAILABLE");
    drop(outage);
    assert_eq!(app.get("/ready").send().status, 200);
    send_text_ok(&app, &admin, &room, "after the outage");
    let page = app.get(&format!("/api/rooms/{room}/messages")).as_user(&admin).send();
    assert_eq!(page.json()["data"][0]["content"], json!("after the outage"));
}

const WRITERS: usize = 8;
const MESSAGES_PER_WRITER: usize = 25;

/// What the writers were told.
#[derive(Default)]
struct Tally {
    stored: AtomicUsize,
    refused: AtomicUsize,
}

/// Sends one keyed message until the app says it is stored (201, or 200 for a replay), retrying
/// after a 503 or no answer; any other answer fails the test.
fn send_until_stored(app: &TestApp, user: &User, room: &str, content: &str, tally: &Tally) {
    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/api/rooms/{room}/messages");
    let attempt =
        || app.post(&path).as_user(user).header("idempotency-key", &key).json(json!({"content": content})).try_send();
    let response = retry_while_unavailable(Duration::from_secs(120), attempt, || {
        tally.refused.fetch_add(1, Ordering::Relaxed);
    });
    assert!(
        matches!(response.status, 200 | 201),
        "{content}: {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    tally.stored.fetch_add(1, Ordering::Relaxed);
}

/// Waits (at most 30 s) until `condition` holds.
fn wait_for(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_store_failing_under_a_write_load_loses_and_duplicates_no_acknowledged_message() {
    let app = TestApp::spawn();
    let admin = User::new("Admin");
    let room = id_of(&create_room_ok(&app, &admin, json!({"name": "Busy"})));
    let writers: Vec<User> = (0..WRITERS).map(|i| User::new(&format!("Writer {i}"))).collect();
    for writer in &writers {
        join_ok(&app, writer, &room);
    }
    let tally = Tally::default();
    std::thread::scope(|scope| {
        for (w, writer) in writers.iter().enumerate() {
            let (app, room, tally) = (&app, &room, &tally);
            scope.spawn(move || {
                for m in 0..MESSAGES_PER_WRITER {
                    send_until_stored(app, writer, room, &format!("{w}-{m}"), tally);
                }
            });
        }
        // The store fails a third of the way through, and comes back once every writer could
        // have met the failure.
        wait_for(|| tally.stored.load(Ordering::Relaxed) >= WRITERS * MESSAGES_PER_WRITER / 3);
        let outage = app.take_store_down();
        wait_for(|| tally.refused.load(Ordering::Relaxed) >= WRITERS);
        drop(outage);
    });
    assert!(tally.refused.load(Ordering::Relaxed) >= WRITERS, "the writers met the failure");
    let rows = app.store().query("SELECT content FROM messages WHERE room_id = ?1", &[json!(room)]);
    let contents: Vec<String> = rows.iter().map(|row| row[0].as_str().unwrap_or_default().to_owned()).collect();
    let distinct: BTreeSet<&String> = contents.iter().collect();
    assert_eq!(distinct.len(), WRITERS * MESSAGES_PER_WRITER, "every acknowledged message is stored");
    assert_eq!(contents.len(), distinct.len(), "none is stored twice");
}
