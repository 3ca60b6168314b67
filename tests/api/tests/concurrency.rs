//! Many clients at once on three replicas of one store (in the SpinKube mode three `spin up` on
//! one `sqld`): the counts stay exact and the invariants hold. A 503 under the load is an
//! answer the contract allows (clients retry it); a 500 or no answer is not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use api_tests::{create_room_ok, history_on, id_of, join_ok, retry_while_unavailable, TestApp, TestResponse, User};
use serde_json::{json, Value};

const REPLICAS: usize = 3;

/// Sends what `request` builds again while it is answered 503 (at most a minute); no answer
/// fails the test.
fn until_not_503(request: impl Fn() -> TestResponse) -> TestResponse {
    retry_while_unavailable(Duration::from_secs(60), || Ok(request()), || {})
}

/// The ids of `room`'s whole history as replica `replica` pages it, oldest first.
fn history_ids_on(app: &TestApp, replica: usize, user: &User, room: &str) -> Vec<String> {
    history_on(app, replica, user, room).iter().map(|m| m["id"].as_str().unwrap_or_default().to_owned()).collect()
}

#[test]
fn a_hundred_writers_of_fifty_messages_each_leave_5000_in_one_order_on_every_replica() {
    const WRITERS: usize = 100;
    const MESSAGES: usize = 50;
    let app = TestApp::spawn_replicas(REPLICAS);
    let admin = User::new("Admin");
    let room = id_of(&create_room_ok(&app, &admin, json!({"name": "Crowded"})));
    let writers: Vec<User> = (0..WRITERS).map(|i| User::new(&format!("Writer {i}"))).collect();
    for writer in &writers {
        join_ok(&app, writer, &room);
    }
    std::thread::scope(|scope| {
        for (w, writer) in writers.iter().enumerate() {
            let (app, room) = (&app, &room);
            scope.spawn(move || {
                for m in 0..MESSAGES {
                    let key = format!("{w}-{m}");
                    let path = format!("/api/rooms/{room}/messages");
                    let send = || {
                        let request = app.post(&path).as_user(writer).header("idempotency-key", &key);
                        request.json(json!({"content": key})).send()
                    };
                    let response = until_not_503(send);
                    assert!(matches!(response.status, 200 | 201), "{key}: {}", response.status);
                }
            });
        }
    });
    let stored = app.store().count("SELECT count(*) FROM messages WHERE room_id = ?1", &[json!(room)]);
    assert_eq!(stored, (WRITERS * MESSAGES) as i64);
    let first = history_ids_on(&app, 0, &admin, &room);
    assert_eq!(first.len(), WRITERS * MESSAGES);
    for replica in 1..REPLICAS {
        assert!(history_ids_on(&app, replica, &admin, &room) == first, "replica {replica} pages another order");
    }
}

#[test]
fn a_hundred_concurrent_joins_leave_an_exact_member_count() {
    const JOINERS: usize = 100;
    let app = TestApp::spawn_replicas(REPLICAS);
    let admin = User::new("Admin");
    let room = id_of(&create_room_ok(&app, &admin, json!({"name": "Popular"})));
    let joined = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for i in 0..JOINERS {
            let (app, room, joined) = (&app, &room, &joined);
            scope.spawn(move || {
                let user = User::new(&format!("Joiner {i}"));
                let path = format!("/api/rooms/{room}/join");
                let response = until_not_503(|| app.post(&path).as_user(&user).send());
                assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
                joined.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    assert_eq!(joined.load(Ordering::Relaxed), JOINERS);
    for replica in 0..REPLICAS {
        let seen = app.get(&format!("/api/rooms/{room}")).on_replica(replica).as_user(&admin).send().json();
        assert_eq!(seen["data"]["memberCount"], json!(JOINERS + 1), "replica {replica}");
    }
    let members = app.store().count("SELECT count(*) FROM memberships WHERE room_id = ?1", &[json!(room)]);
    assert_eq!(members, (JOINERS + 1) as i64);
}

#[test]
fn racing_leaves_and_demotions_of_two_admins_never_leave_a_room_without_an_admin() {
    const TRIALS: usize = 20;
    let app = TestApp::spawn_replicas(REPLICAS);
    for trial in 0..TRIALS {
        let (ada, bob) = (User::new("Ada"), User::new("Bob"));
        let room = id_of(&create_room_ok(&app, &ada, json!({"name": format!("Race {trial}")})));
        join_ok(&app, &bob, &room);
        let promoted = app
            .put(&format!("/api/rooms/{room}/members/{}", bob.id))
            .as_user(&ada)
            .json(json!({"role": "admin"}))
            .send();
        assert_eq!(promoted.status, 200);
        // Each admin leaves and demotes the other, all at once, through different replicas.
        let moves: Vec<(&User, &'static str, String, Option<Value>)> = vec![
            (&ada, "POST", format!("/api/rooms/{room}/leave"), None),
            (&bob, "POST", format!("/api/rooms/{room}/leave"), None),
            (&ada, "PUT", format!("/api/rooms/{room}/members/{}", bob.id), Some(json!({"role": "member"}))),
            (&bob, "PUT", format!("/api/rooms/{room}/members/{}", ada.id), Some(json!({"role": "member"}))),
        ];
        std::thread::scope(|scope| {
            for (replica, (user, method, path, body)) in moves.iter().enumerate() {
                let app = &app;
                scope.spawn(move || {
                    let send = || {
                        let request = app.request(method, path).on_replica(replica).as_user(user);
                        match body {
                            Some(body) => request.json(body.clone()).send(),
                            None => request.send(),
                        }
                    };
                    let status = until_not_503(send).status;
                    assert!(matches!(status, 200 | 204 | 403 | 404 | 409), "{method} {path}: {status}");
                });
            }
        });
        let admins =
            app.store().count("SELECT count(*) FROM memberships WHERE room_id = ?1 AND role = 'admin'", &[json!(room)]);
        assert!(admins >= 1, "trial {trial}: the room was left without an admin");
    }
}

/// Concurrent requests to one replica: in the WASIp3 flavor they share an instance and its one
/// store connection (up to 16 at once), so these are the hazards SPIN-FACTS.md saw on a shared
/// connection. Each room creation is a `BEGIN IMMEDIATE` transaction; none may interleave with
/// another, so every one commits whole.
#[test]
fn concurrent_transactions_on_one_replica_each_commit_whole() {
    const CREATORS: usize = 48;
    let app = TestApp::spawn_replicas(1);
    let creators: Vec<User> = (0..CREATORS).map(|i| User::new(&format!("Creator {i}"))).collect();
    std::thread::scope(|scope| {
        for (i, creator) in creators.iter().enumerate() {
            let app = &app;
            scope.spawn(move || {
                let create =
                    || app.post("/api/rooms").as_user(creator).json(json!({"name": format!("Room {i}")})).send();
                let response = until_not_503(create);
                assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
            });
        }
    });
    let rooms = app.store().count("SELECT count(*) FROM rooms", &[]);
    let admins = app.store().count(
        "SELECT count(*) FROM rooms r JOIN memberships m ON m.room_id = r.id AND m.user_id = r.created_by \
         WHERE m.role = 'admin' AND r.member_count = 1",
        &[],
    );
    assert_eq!((rooms, admins), (CREATORS as i64, CREATORS as i64));
}

/// A transaction that fails (a taken room name: the `INSERT` fails inside `BEGIN IMMEDIATE`) is
/// rolled back on the spot, so the single-statement writes of other requests running meanwhile on
/// the same connection are not swallowed by it: every acknowledged message is stored, and the
/// replica keeps serving.
#[test]
fn failing_transactions_lose_no_write_of_concurrent_requests_on_one_replica() {
    const SENDERS: usize = 8;
    const MESSAGES: usize = 12;
    const FAILED_CREATIONS: usize = 8;
    let app = TestApp::spawn_replicas(1);
    let admin = User::new("Admin");
    let room = id_of(&create_room_ok(&app, &admin, json!({"name": "Taken"})));
    let senders: Vec<User> = (0..SENDERS).map(|i| User::new(&format!("Sender {i}"))).collect();
    for sender in &senders {
        join_ok(&app, sender, &room);
    }
    let acknowledged = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for (s, sender) in senders.iter().enumerate() {
            let (app, room, acknowledged) = (&app, &room, &acknowledged);
            scope.spawn(move || {
                for m in 0..MESSAGES {
                    let path = format!("/api/rooms/{room}/messages");
                    let send = || app.post(&path).as_user(sender).json(json!({"content": format!("{s}-{m}")})).send();
                    let response = until_not_503(send);
                    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        for _ in 0..FAILED_CREATIONS {
            let (app, admin) = (&app, &admin);
            scope.spawn(move || {
                for _ in 0..MESSAGES {
                    let create = || app.post("/api/rooms").as_user(admin).json(json!({"name": "taken"})).send();
                    until_not_503(create).assert_error(409, "ROOM_NAME_TAKEN");
                }
            });
        }
    });
    let stored = app.store().count("SELECT count(*) FROM messages WHERE room_id = ?1", &[json!(room)]);
    assert_eq!(stored, acknowledged.load(Ordering::Relaxed) as i64);
    assert_eq!(app.store().count("SELECT count(*) FROM rooms", &[]), 1);
    let page = app.get(&format!("/api/rooms/{room}/messages?limit=1")).as_user(&admin).send();
    assert_eq!(page.status, 200);
}

/// `count` members of a fresh room on three replicas, and a message of its admin's.
fn room_with_members(app: &TestApp, count: usize) -> (String, Value, Vec<User>) {
    let admin = User::new("Admin");
    let room = id_of(&create_room_ok(app, &admin, json!({"name": "Reactions"})));
    let members: Vec<User> = (0..count).map(|i| User::new(&format!("Member {i}"))).collect();
    for member in &members {
        join_ok(app, member, &room);
    }
    let sent =
        app.post(&format!("/api/rooms/{room}/messages")).as_user(&admin).json(json!({"content": "react"})).send();
    (room, sent.json()["data"].clone(), members)
}

/// Every member's `PUT` of `emoji(i)` at once, spread over the replicas: the statuses.
fn react_at_once(
    app: &TestApp,
    room: &str,
    message: &Value,
    members: &[User],
    emoji: impl Fn(usize) -> String + Sync,
) -> Vec<u16> {
    let id = message["id"].as_str().unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = members
            .iter()
            .enumerate()
            .map(|(i, member)| {
                let (path, replica) = (format!("/api/rooms/{room}/messages/{id}/reactions/{}", emoji(i)), i % REPLICAS);
                scope.spawn(move || until_not_503(|| app.put(&path).on_replica(replica).as_user(member).send()).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The message's `reactions` as `reader` reads them.
fn reactions_of(app: &TestApp, reader: &User, room: &str, message: &Value) -> Value {
    let path = format!("/api/rooms/{room}/messages/{}", message["id"].as_str().unwrap());
    app.get(&path).as_user(reader).send().json()["data"]["reactions"].clone()
}

#[test]
fn members_reacting_alike_at_once_through_three_replicas_are_all_counted() {
    let app = TestApp::spawn_replicas(REPLICAS);
    let (room, message, members) = room_with_members(&app, 12);
    let statuses = react_at_once(&app, &room, &message, &members, |_| "%F0%9F%91%8D".to_owned());
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(reactions_of(&app, &members[0], &room, &message), json!([{"emoji": "👍", "count": 12}]));
    assert_eq!(app.store().count("SELECT count(*) FROM message_reactions", &[]), 12);
}

#[test]
fn one_member_reacting_twice_at_once_is_counted_once() {
    let app = TestApp::spawn_replicas(REPLICAS);
    let (room, message, members) = room_with_members(&app, 1);
    let twins: Vec<User> = (0..6).map(|_| members[0].clone()).collect();
    let statuses = react_at_once(&app, &room, &message, &twins, |_| "%F0%9F%8E%89".to_owned());
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(reactions_of(&app, &members[0], &room, &message), json!([{"emoji": "🎉", "count": 1}]));
    assert_eq!(app.store().count("SELECT count(*) FROM message_reactions", &[]), 1);
}

#[test]
fn a_21st_distinct_emoji_never_slips_in_under_concurrency() {
    let app = TestApp::spawn_replicas(REPLICAS);
    let (room, message, members) = room_with_members(&app, 30);
    let statuses = react_at_once(&app, &room, &message, &members, |i| format!("e{i}"));
    let taken = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((taken, refused), (20, 10), "{statuses:?}");
    assert_eq!(reactions_of(&app, &members[0], &room, &message).as_array().unwrap().len(), 20);
    assert_eq!(app.store().count("SELECT count(*) FROM message_reaction_counts", &[]), 20);
}
