//! "3 replicas, one store": in the SpinKube mode three `spin up` processes on one `sqld`, in the
//! Spin mode three `spin up` processes on one SQLite file, under the test host three apps on one
//! file. Writes through one replica are read through the others, and concurrent writers on
//! different replicas leave one consistent history.

use std::collections::HashSet;

use api_tests::{history_on, id_of, TestApp, User};
use serde_json::{json, Value};

const REPLICAS: usize = 3;

fn messages_path(room: &str, query: &str) -> String {
    format!("/api/rooms/{room}/messages{query}")
}

#[test]
fn a_room_created_on_one_replica_is_joined_written_and_read_on_the_others() {
    let app = TestApp::spawn_replicas(REPLICAS);
    let ada = User::new("Ada");
    let bob = User::new("Bob");

    let created = app.post("/api/rooms").on_replica(0).as_user(&ada).json(json!({"name": "Shared"})).send();
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let room = id_of(&created.json()["data"]);
    let joined = app.post(&format!("/api/rooms/{room}/join")).on_replica(1).as_user(&bob).send();
    assert_eq!(joined.status, 201);
    let sent = app
        .post(&messages_path(&room, ""))
        .on_replica(2)
        .as_user(&bob)
        .json(json!({"content": "via replica 2"}))
        .send();
    assert_eq!(sent.status, 201);

    let seen = app.get(&format!("/api/rooms/{room}")).on_replica(0).as_user(&ada).send().json();
    assert_eq!(seen["data"]["memberCount"], 2);
    assert_eq!(seen["data"]["lastMessageAt"], sent.json()["data"]["createdAt"]);
    let history = history_on(&app, 0, &ada, &room);
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0]["content"].clone(), history[0]["authorId"].clone()),
        (json!("via replica 2"), json!(bob.id))
    );
}

#[test]
fn a_room_name_taken_on_one_replica_is_taken_on_all() {
    let app = TestApp::spawn_replicas(REPLICAS);
    let created =
        app.post("/api/rooms").on_replica(0).as_user(&User::new("Ada")).json(json!({"name": "Shared"})).send();
    assert_eq!(created.status, 201);
    for replica in 1..REPLICAS {
        app.post("/api/rooms")
            .on_replica(replica)
            .as_user(&User::new("Bob"))
            .json(json!({"name": "SHARED"}))
            .send()
            .assert_error(409, "ROOM_NAME_TAKEN");
    }
}

#[test]
fn four_writers_on_different_replicas_leave_800_messages_in_one_order() {
    const WRITERS: usize = 4;
    const EACH: usize = 200;
    let app = TestApp::spawn_replicas(REPLICAS);
    let admin = User::new("Admin");
    let room = id_of(&app.post("/api/rooms").as_user(&admin).json(json!({"name": "Busy"})).send().json()["data"]);
    let writers: Vec<User> = (0..WRITERS).map(|w| User::new(&format!("writer {w}"))).collect();
    for writer in &writers {
        assert_eq!(app.post(&format!("/api/rooms/{room}/join")).as_user(writer).send().status, 201);
    }

    std::thread::scope(|scope| {
        for (w, writer) in writers.iter().enumerate() {
            let (app, room) = (&app, &room);
            scope.spawn(move || {
                for i in 0..EACH {
                    let send = |replica: usize| {
                        app.post(&messages_path(room, ""))
                            .on_replica(replica)
                            .as_user(writer)
                            .header("idempotency-key", &format!("w{w}-{i}"))
                            .json(json!({"content": format!("{w}:{i}")}))
                            .send()
                    };
                    let first = send(w % REPLICAS);
                    assert_eq!(first.status, 201, "{}", String::from_utf8_lossy(&first.body));
                    // Every fifth send is retried through another replica: the same message answers.
                    if i % 5 == 0 {
                        let retry = send((w + 1) % REPLICAS);
                        assert_eq!(retry.status, 200, "{}", String::from_utf8_lossy(&retry.body));
                        assert_eq!(retry.json()["data"]["id"], first.json()["data"]["id"]);
                    }
                }
            });
        }
    });

    let histories: Vec<Vec<Value>> = (0..REPLICAS).map(|replica| history_on(&app, replica, &admin, &room)).collect();
    let first = &histories[0];
    assert_eq!(first.len(), WRITERS * EACH);
    let ids: HashSet<&str> = first.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), WRITERS * EACH, "no message twice");
    for (replica, history) in histories.iter().enumerate() {
        assert!(history == first, "replica {replica} pages a different history");
    }
    for w in 0..WRITERS {
        let own: Vec<String> = first
            .iter()
            .filter_map(|m| m["content"].as_str())
            .filter(|c| c.starts_with(&format!("{w}:")))
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("{w}:{i}")).collect();
        assert_eq!(own, expected, "writer {w}'s messages in the order it sent them");
    }
}

#[test]
fn replicas_starting_together_migrate_the_store_once() {
    let app = TestApp::spawn_replicas(REPLICAS);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..REPLICAS)
            .map(|replica| {
                let app = &app;
                scope.spawn(move || app.get("/ready").on_replica(replica).send().status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200; REPLICAS]);
    let applied = app.store().count("SELECT count(*) FROM schema_migrations", &[]);
    assert_eq!(applied, chat::migrations::MIGRATIONS.len() as i64);
}
