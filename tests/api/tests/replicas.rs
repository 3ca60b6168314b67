//! "3 replicas, one store" without Kubernetes: three instances of the app, each served over
//! HTTP on its own port by the test host's serve mode, share one database file, as the three
//! SpinKube replicas share one libSQL server. Writes through one are read through the others.

use api_tests::{TestApp, User};
use serde_json::{json, Value};

struct Replica {
    base_url: String,
}

fn start_replicas(database: &std::path::Path, count: usize) -> (tokio::runtime::Runtime, Vec<Replica>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let replicas = (0..count)
        .map(|_| {
            let app = TestApp::on_database(database).app;
            let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
            let base_url = format!("http://{}", listener.local_addr().unwrap());
            runtime.spawn(spin_test_host::serve::serve(app, listener));
            Replica { base_url }
        })
        .collect();
    (runtime, replicas)
}

fn call(replica: &Replica, method: &str, path: &str, user: &User, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("{}{path}", replica.base_url);
    let bearer = format!("Bearer {}", user.token);
    let mut response = match (method, body) {
        ("GET", _) => agent.get(&url).header("authorization", &bearer).call(),
        ("POST", Some(body)) => {
            agent.post(&url).header("authorization", &bearer).content_type("application/json").send(body.to_string())
        }
        ("POST", None) => agent.post(&url).header("authorization", &bearer).send_empty(),
        (other, _) => panic!("unsupported method {other}"),
    }
    .expect("the replica answered");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn three_replicas_on_one_database_see_each_others_writes() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("sqlite_db.db");
    let (_runtime, replicas) = start_replicas(&database, 3);
    let ada = User::new("Ada");
    let bob = User::new("Bob");

    // The first request on the fresh store migrates it, whichever replica takes it.
    let (status, created) = call(&replicas[0], "POST", "/api/rooms", &ada, Some(json!({"name": "Shared"})));
    assert_eq!(status, 201, "{created}");
    let room = created["data"]["id"].as_str().unwrap().to_owned();

    let (status, _) = call(&replicas[1], "POST", &format!("/api/rooms/{room}/join"), &bob, None);
    assert_eq!(status, 201);
    for (i, replica) in replicas.iter().enumerate() {
        let (status, _) = call(
            replica,
            "POST",
            &format!("/api/rooms/{room}/messages"),
            &ada,
            Some(json!({"content": format!("via replica {i}")})),
        );
        assert_eq!(status, 201);
    }

    for replica in &replicas {
        let (_, seen) = call(replica, "GET", &format!("/api/rooms/{room}"), &ada, None);
        assert_eq!(seen["data"]["memberCount"], 2);
        let (_, history) = call(replica, "GET", &format!("/api/rooms/{room}/messages"), &ada, None);
        let contents: Vec<&str> =
            history["data"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
        assert_eq!(contents, vec!["via replica 0", "via replica 1", "via replica 2"]);
    }
    // A name taken through one replica is taken for all.
    let (status, _) = call(&replicas[2], "POST", "/api/rooms", &bob, Some(json!({"name": "SHARED"})));
    assert_eq!(status, 409);
}

#[test]
fn replicas_starting_together_migrate_the_store_once() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("sqlite_db.db");
    let (_runtime, replicas) = start_replicas(&database, 3);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = replicas
            .iter()
            .map(|replica| {
                scope.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                    agent.get(format!("{}/ready", replica.base_url)).call().unwrap().status().as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200, 200, 200]);
    let db = rusqlite::Connection::open(&database).unwrap();
    let applied: i64 = db.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0)).unwrap();
    assert_eq!(applied, chat::migrations::MIGRATIONS.len() as i64);
}
