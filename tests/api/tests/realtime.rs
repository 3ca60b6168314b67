//! Real time without a socket (contract "Real time"): `wait` long-polls on history pages and the
//! change feed `GET /api/rooms/:id/changes`, answered from the store alone, through any replica.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use api_tests::{create_room_ok, history_on, id_of, join_ok, send_text_ok, TestApp, TestResponse, User};
use serde_json::{json, Value};

fn room_with(app: &TestApp, admin: &User, body: Value) -> String {
    id_of(&create_room_ok(app, admin, body))
}

fn messages(app: &TestApp, user: &User, room: &str, query: &str) -> TestResponse {
    app.get(&format!("/api/rooms/{room}/messages?{query}")).as_user(user).send()
}

fn changes(app: &TestApp, user: &User, room: &str, query: &str) -> TestResponse {
    app.get(&format!("/api/rooms/{room}/changes?{query}")).as_user(user).send()
}

#[track_caller]
fn ok(response: TestResponse) -> Value {
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json()
}

fn contents(page: &Value) -> Vec<String> {
    let data = page["data"].as_array().expect("a page");
    data.iter().map(|m| m["content"].as_str().unwrap_or("<tombstone>").to_owned()).collect()
}

/// The token that stands for now.
fn token_now(app: &TestApp, user: &User, room: &str) -> String {
    ok(changes(app, user, room, ""))["pagination"]["nextToken"].as_str().expect("a token").to_owned()
}

fn message_path(room: &str, message: &Value) -> String {
    format!("/api/rooms/{room}/messages/{}", message["id"].as_str().unwrap())
}

/// Runs `request` on another thread while `meanwhile` runs here after `delay`; `request`'s
/// answer and how long it took.
fn while_waiting<T: Send>(
    request: impl FnOnce() -> T + Send,
    delay: Duration,
    meanwhile: impl FnOnce(),
) -> (T, Duration) {
    std::thread::scope(|scope| {
        let started = Instant::now();
        let waiter = scope.spawn(move || (request(), started.elapsed()));
        std::thread::sleep(delay);
        meanwhile();
        waiter.join().expect("the waiting request")
    })
}

#[test]
fn a_waiting_after_page_answers_as_soon_as_a_message_is_sent() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada, json!({"name": "Live"}));
    join_ok(&app, &bob, &room);
    send_text_ok(&app, &ada, &room, "before");
    let cursor = ok(messages(&app, &bob, &room, ""))["pagination"]["nextCursor"].as_str().unwrap().to_owned();
    let (page, took) = while_waiting(
        || messages(&app, &bob, &room, &format!("after={cursor}&wait=20")),
        Duration::from_millis(500),
        || drop(send_text_ok(&app, &ada, &room, "news")),
    );
    assert_eq!(contents(&ok(page)), ["news"]);
    assert!(took < Duration::from_secs(20), "answered when the message came, not at the end of the wait");
}

#[test]
fn a_wait_that_sees_nothing_new_answers_the_empty_page_at_its_end() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, json!({"name": "Quiet"}));
    send_text_ok(&app, &ada, &room, "only");
    let cursor = ok(messages(&app, &ada, &room, ""))["pagination"]["nextCursor"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let page = ok(messages(&app, &ada, &room, &format!("after={cursor}&wait=1")));
    assert!(started.elapsed() >= Duration::from_secs(1), "held for its wait");
    assert_eq!(page["data"], json!([]));
    assert_eq!(page["pagination"]["nextCursor"], json!(cursor), "the poller keeps its place");
}

#[test]
fn a_long_poll_whose_etag_matches_answers_304_at_the_end_of_its_wait() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, json!({"name": "Same"}));
    send_text_ok(&app, &ada, &room, "unchanged");
    let tag = messages(&app, &ada, &room, "").header("etag").expect("an ETag").to_owned();
    let started = Instant::now();
    let path = format!("/api/rooms/{room}/messages?wait=1");
    let response = app.get(&path).as_user(&ada).header("if-none-match", &tag).send();
    assert_eq!(response.status, 304);
    assert!(started.elapsed() >= Duration::from_secs(1), "held for its wait");
}

#[test]
fn a_long_poll_whose_etag_matches_answers_200_once_the_page_changes() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada, json!({"name": "Changing"}));
    join_ok(&app, &bob, &room);
    send_text_ok(&app, &ada, &room, "first");
    let tag = messages(&app, &bob, &room, "").header("etag").expect("an ETag").to_owned();
    let path = format!("/api/rooms/{room}/messages?wait=20");
    let (response, _) = while_waiting(
        || app.get(&path).as_user(&bob).header("if-none-match", &tag).send(),
        Duration::from_millis(500),
        || drop(send_text_ok(&app, &ada, &room, "second")),
    );
    assert_eq!(contents(&ok(response)), ["first", "second"]);
}

#[test]
fn a_waiter_on_one_replica_hears_of_a_message_sent_through_another() {
    let app = TestApp::spawn_replicas(3);
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada, json!({"name": "Across"}));
    join_ok(&app, &bob, &room);
    let path = format!("/api/rooms/{room}/messages?wait=20");
    let send = format!("/api/rooms/{room}/messages");
    let (response, took) = while_waiting(
        || app.get(&path).on_replica(0).as_user(&bob).send(),
        Duration::from_millis(500),
        || assert_eq!(app.post(&send).on_replica(2).as_user(&ada).json(json!({"content": "hi"})).send().status, 201),
    );
    assert_eq!(contents(&ok(response)), ["hi"], "an empty room's newest page waits for its first message");
    assert!(took < Duration::from_secs(20));
}

#[test]
fn wait_is_0_to_30_seconds_given_once_and_never_with_before() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, json!({"name": "Rules"}));
    send_text_ok(&app, &ada, &room, "one");
    let cursor = ok(messages(&app, &ada, &room, ""))["pagination"]["nextCursor"].as_str().unwrap().to_owned();
    for query in
        ["wait=31".to_owned(), "wait=-1".to_owned(), "wait=1&wait=1".to_owned(), format!("before={cursor}&wait=1")]
    {
        let body = messages(&app, &ada, &room, &query).assert_error(400, "VALIDATION_ERROR");
        assert_eq!(body["details"][0]["field"], "wait", "{query}");
        let body = changes(&app, &ada, &room, &query.replace("before", "since")).assert_error(400, "VALIDATION_ERROR");
        assert!(body["details"][0]["field"] == "wait" || body["details"][0]["field"] == "since", "{query}");
    }
    assert_eq!(messages(&app, &ada, &room, &format!("before={cursor}&wait=0")).status, 200);
}

#[test]
fn a_stranger_is_refused_at_once_not_held() {
    let app = TestApp::spawn();
    let (ada, eve) = (User::new("Ada"), User::new("Eve"));
    let public = room_with(&app, &ada, json!({"name": "Open"}));
    let private = room_with(&app, &ada, json!({"name": "Closed", "isPrivate": true}));
    let started = Instant::now();
    messages(&app, &eve, &public, "wait=20").assert_error(403, "NOT_MEMBER");
    changes(&app, &eve, &public, "wait=20").assert_error(403, "NOT_MEMBER");
    messages(&app, &eve, &private, "wait=20").assert_error(404, "NOT_FOUND");
    changes(&app, &eve, &private, "wait=20").assert_error(404, "NOT_FOUND");
    assert!(started.elapsed() < Duration::from_secs(20), "refusals are not held");
}

#[test]
fn the_feed_without_since_is_an_empty_page_whose_token_stands_for_now() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, json!({"name": "Now"}));
    send_text_ok(&app, &ada, &room, "old news");
    let page = ok(changes(&app, &ada, &room, ""));
    assert_eq!(page["data"], json!([]));
    assert_eq!(page["pagination"]["limit"], 50);
    assert_eq!(page["pagination"]["hasMore"], false);
    let token = page["pagination"]["nextToken"].as_str().unwrap();
    send_text_ok(&app, &ada, &room, "fresh");
    assert_eq!(contents(&ok(changes(&app, &ada, &room, &format!("since={token}")))), ["fresh"]);
}

#[test]
fn the_feed_lists_each_changed_message_once_in_the_order_of_its_latest_change() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, json!({"name": "Feed"}));
    let token = token_now(&app, &ada, &room);
    let (one, two, three) = (
        send_text_ok(&app, &ada, &room, "one"),
        send_text_ok(&app, &ada, &room, "two"),
        send_text_ok(&app, &ada, &room, "three"),
    );
    let edit = app.request("PATCH", &message_path(&room, &one)).as_user(&ada).json(json!({"content": "one, edited"}));
    assert_eq!(edit.send().status, 200);
    assert_eq!(
        app.put(&format!("{}/reactions/%F0%9F%91%8D", message_path(&room, &two))).as_user(&ada).send().status,
        200
    );
    assert_eq!(app.delete(&message_path(&room, &three)).as_user(&ada).send().status, 204);
    let page = ok(changes(&app, &ada, &room, &format!("since={token}")));
    assert_eq!(contents(&page), ["one, edited", "two", "<tombstone>"]);
    assert!(page["data"][0]["editedAt"].is_string());
    assert_eq!(page["data"][1]["reactions"], json!([{"emoji": "👍", "count": 1}]));
    assert_eq!(page["data"][2]["deleted"], true);
    let next = page["pagination"]["nextToken"].as_str().unwrap();
    assert_eq!(ok(changes(&app, &ada, &room, &format!("since={next}")))["data"], json!([]));
    assert_eq!(
        app.delete(&format!("{}/reactions/%F0%9F%91%8D", message_path(&room, &two))).as_user(&ada).send().status,
        204
    );
    let after_removal = ok(changes(&app, &ada, &room, &format!("since={next}")));
    assert_eq!(after_removal["data"][0]["id"], two["id"], "taking a reaction back is a change too");
    assert_eq!(after_removal["data"][0]["reactions"], json!([]));
}

#[test]
fn the_feed_pages_by_limit_and_its_token_goes_on_where_the_page_ended() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, json!({"name": "Pages"}));
    let token = token_now(&app, &ada, &room);
    for i in 0..5 {
        send_text_ok(&app, &ada, &room, &format!("m{i}"));
    }
    let first = ok(changes(&app, &ada, &room, &format!("since={token}&limit=3")));
    assert_eq!(
        (contents(&first), &first["pagination"]["hasMore"]),
        (vec!["m0".into(), "m1".into(), "m2".into()], &json!(true))
    );
    let next = first["pagination"]["nextToken"].as_str().unwrap();
    let second = ok(changes(&app, &ada, &room, &format!("since={next}&limit=3")));
    assert_eq!((contents(&second), &second["pagination"]["hasMore"]), (vec!["m3".into(), "m4".into()], &json!(false)));
    let empty =
        ok(changes(&app, &ada, &room, &format!("since={}", second["pagination"]["nextToken"].as_str().unwrap())));
    assert_eq!(empty["pagination"]["nextToken"], second["pagination"]["nextToken"], "an empty page keeps its place");
    for limit in ["0", "101", "x"] {
        changes(&app, &ada, &room, &format!("limit={limit}")).assert_error(400, "VALIDATION_ERROR");
    }
}

#[test]
fn a_token_of_another_room_or_a_history_cursor_is_refused() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, json!({"name": "Mine"}));
    let other = room_with(&app, &ada, json!({"name": "Other"}));
    send_text_ok(&app, &ada, &room, "x");
    let cursor = ok(messages(&app, &ada, &room, ""))["pagination"]["nextCursor"].as_str().unwrap().to_owned();
    let foreign = token_now(&app, &ada, &other);
    for since in [foreign.as_str(), cursor.as_str(), "not-a-token", ""] {
        let body = changes(&app, &ada, &room, &format!("since={since}")).assert_error(400, "VALIDATION_ERROR");
        assert_eq!(body["details"][0]["field"], "since");
    }
    let token = token_now(&app, &ada, &room);
    messages(&app, &ada, &room, &format!("after={token}")).assert_error(400, "VALIDATION_ERROR");
}

#[test]
fn the_feed_moves_the_readers_marker_to_the_newest_message_it_returned() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada, json!({"name": "Marks"}));
    join_ok(&app, &bob, &room);
    let token = token_now(&app, &bob, &room);
    send_text_ok(&app, &ada, &room, "a");
    send_text_ok(&app, &ada, &room, "b");
    let unread =
        |user: &User| ok(app.get(&format!("/api/rooms/{room}")).as_user(user).send())["data"]["unreadCount"].clone();
    assert_eq!(unread(&bob), 2);
    ok(changes(&app, &bob, &room, &format!("since={token}")));
    assert_eq!(unread(&bob), 0);
}

#[test]
fn a_waiting_feed_answers_as_soon_as_a_message_changes() {
    let app = TestApp::spawn_replicas(2);
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada, json!({"name": "Reacting"}));
    join_ok(&app, &bob, &room);
    let message = send_text_ok(&app, &ada, &room, "react to me");
    let token = token_now(&app, &bob, &room);
    let path = format!("/api/rooms/{room}/changes?since={token}&wait=20");
    let reaction = format!("{}/reactions/%F0%9F%8E%89", message_path(&room, &message));
    let (page, took) = while_waiting(
        || app.get(&path).on_replica(0).as_user(&bob).send(),
        Duration::from_millis(500),
        || assert_eq!(app.put(&reaction).on_replica(1).as_user(&ada).send().status, 200),
    );
    let page = ok(page);
    assert_eq!(page["data"][0]["reactions"], json!([{"emoji": "🎉", "count": 1}]));
    assert!(took < Duration::from_secs(20));
}

/// One writer's work: sends, then edits, reactions and deletions of its own messages, spread
/// over the replicas.
fn write_interleaved(app: &TestApp, writer: &User, w: usize, room: &str, replicas: usize) {
    let mut mine: Vec<Value> = Vec::new();
    for step in 0..24 {
        let replica = (w + step) % replicas;
        let send = || {
            let path = format!("/api/rooms/{room}/messages");
            app.post(&path).on_replica(replica).as_user(writer).json(json!({"content": format!("w{w} s{step}")})).send()
        };
        match (step % 4, mine.len()) {
            (0 | 1, _) | (_, 0) => {
                let response = send();
                assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
                mine.push(response.json()["data"].clone());
            }
            (2, n) => {
                let path = message_path(room, &mine[step % n]);
                let edit = app.request("PATCH", &path).on_replica(replica).as_user(writer);
                let status = edit.json(json!({"content": format!("w{w} edit {step}")})).send().status;
                assert!(matches!(status, 200 | 409), "edit: {status}");
            }
            (_, n) if step % 8 == 3 => {
                let path = format!("{}/reactions/w{w}-{step}", message_path(room, &mine[step % n]));
                let status = app.put(&path).on_replica(replica).as_user(writer).send().status;
                assert!(matches!(status, 200 | 409), "reaction: {status}");
            }
            (_, n) => {
                let status =
                    app.delete(&message_path(room, &mine[n - 1])).on_replica(replica).as_user(writer).send().status;
                assert_eq!(status, 204);
            }
        }
    }
}

#[test]
fn a_follower_that_loads_history_and_follows_the_feed_ends_with_every_message_as_stored() {
    const WRITERS: usize = 3;
    let replicas = 3;
    let app = TestApp::spawn_replicas(replicas);
    let follower = User::new("Follower");
    let room = room_with(&app, &follower, json!({"name": "Busy"}));
    let writers: Vec<User> = (0..WRITERS).map(|w| User::new(&format!("Writer {w}"))).collect();
    for writer in &writers {
        join_ok(&app, writer, &room);
        send_text_ok(&app, writer, &room, "hello before the follower came");
    }
    let mut token = token_now(&app, &follower, &room);
    let mut seen: BTreeMap<String, Value> =
        history_on(&app, 0, &follower, &room).into_iter().map(|m| (m["id"].as_str().unwrap().to_owned(), m)).collect();
    let writers_done = AtomicUsize::new(0);
    let mut changes_seen = 0;
    std::thread::scope(|scope| {
        for (w, writer) in writers.iter().enumerate() {
            let (app, room, writers_done) = (&app, &room, &writers_done);
            scope.spawn(move || {
                write_interleaved(app, writer, w, room, replicas);
                writers_done.fetch_add(1, Ordering::SeqCst);
            });
        }
        for round in 0.. {
            let finished = writers_done.load(Ordering::SeqCst) == WRITERS;
            let path = format!("/api/rooms/{room}/changes?since={token}&limit=7&wait=1");
            let page = ok(app.get(&path).on_replica(round % replicas).as_user(&follower).send());
            let data = page["data"].as_array().unwrap();
            let mut ids: Vec<&str> = data.iter().map(|m| m["id"].as_str().unwrap()).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), data.len(), "each message at most once per page");
            for message in data {
                seen.insert(message["id"].as_str().unwrap().to_owned(), message.clone());
                changes_seen += 1;
            }
            token = page["pagination"]["nextToken"].as_str().unwrap().to_owned();
            if finished && data.is_empty() {
                break;
            }
        }
    });
    let stored: BTreeMap<String, Value> =
        history_on(&app, 1, &follower, &room).into_iter().map(|m| (m["id"].as_str().unwrap().to_owned(), m)).collect();
    assert_eq!(seen.len(), stored.len(), "the follower knows every message");
    for (id, message) in &stored {
        assert_eq!(seen.get(id), Some(message), "the follower's copy of {id} is the stored one");
    }
    assert!(changes_seen >= WRITERS * 12, "the feed carried the writers' messages ({changes_seen})");
}

mod host_only {
    use super::*;

    /// The bound `docs/performance.md` states: a held request reads its room's position at most
    /// once per interval (50 ms), besides its two passes (one statement each: the page, which
    /// also reads the position it watches).
    #[test]
    fn a_held_request_reads_the_store_at_most_once_per_interval() {
        let app = TestApp::spawn();
        let ada = User::new("Ada");
        let room = room_with(&app, &ada, json!({"name": "Still"}));
        send_text_ok(&app, &ada, &room, "only");
        let cursor = ok(messages(&app, &ada, &room, ""))["pagination"]["nextCursor"].as_str().unwrap().to_owned();
        let (page, statements) =
            app.count_statements(|| messages(&app, &ada, &room, &format!("after={cursor}&wait=2")));
        assert_eq!(ok(page)["data"], json!([]));
        let looks = 2_000 / 50;
        assert!(statements <= 1 + looks + 1, "{statements} statements in a 2 s wait");
        assert!(statements > 1 + 3, "{statements}: the room was looked at while the request waited");
    }
}
