//! Test fixtures for black-box tests of the real wasm components: a [`TestApp`] served by the
//! test host with a fresh database, users with signed tokens, and a small request builder.
//!
//! The components are built (`cargo build --target wasm32-wasip2 --release`) once per test
//! process, so `cargo test` always exercises the current code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};
use spin_test_host::{App, AppOptions, DatabaseLocation};

/// The `jwt_secret` every test app runs with.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

fn build_components() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if std::env::var_os("CHAT_SKIP_WASM_BUILD").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .args(["build", "--quiet", "--target", "wasm32-wasip2", "--release"])
            .args(["-p", "rooms", "-p", "membership", "-p", "messages", "-p", "health"])
            .status()
            .expect("running cargo to build the components");
        assert!(status.success(), "building the wasm components failed");
    });
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime"))
}

/// The app under test, on its own fresh database.
pub struct TestApp {
    pub app: App,
}

impl TestApp {
    pub fn spawn() -> TestApp {
        TestApp::with_variables(BTreeMap::new())
    }

    /// An app whose variables (`jwt_issuer`, ...) are set on top of the test secret.
    pub fn with_variables(variables: BTreeMap<String, String>) -> TestApp {
        TestApp::load(variables, DatabaseLocation::Temporary)
    }

    /// An app on a given database file (several apps can share one, like replicas).
    pub fn on_database(path: &Path) -> TestApp {
        TestApp::load(BTreeMap::new(), DatabaseLocation::File(path.to_owned()))
    }

    fn load(mut variables: BTreeMap<String, String>, database: DatabaseLocation) -> TestApp {
        build_components();
        variables.entry("jwt_secret".into()).or_insert_with(|| TEST_SECRET.into());
        let options = AppOptions { variables, database, forward_logs: false };
        let app = App::load(&workspace_root().join("spin.toml"), options).expect("loading the app");
        TestApp { app }
    }

    pub fn request(&self, method: &str, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            app: self,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request("GET", path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request("POST", path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder<'_> {
        self.request("PUT", path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request("DELETE", path)
    }

    /// SQLite statements executed while `work` runs (run nothing else concurrently).
    pub fn count_statements<T>(&self, work: impl FnOnce() -> T) -> (T, u64) {
        let before = self.app.sqlite().statement_count();
        let result = work();
        (result, self.app.sqlite().statement_count() - before)
    }
}

/// A user with a valid token.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub name: Option<String>,
    pub token: String,
}

impl User {
    pub fn new(name: &str) -> User {
        let id = uuid::Uuid::new_v4().to_string();
        let token = sign(json!({ "sub": id, "exp": now() + 3600, "name": name }));
        User { id, name: Some(name.to_owned()), token }
    }
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// Signs arbitrary claims with the test secret.
pub fn sign(claims: Value) -> String {
    chat::auth::sign_hs256(&claims, TEST_SECRET.as_bytes())
}

pub struct RequestBuilder<'a> {
    app: &'a TestApp,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl RequestBuilder<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn as_user(self, user: &User) -> Self {
        let bearer = format!("Bearer {}", user.token);
        self.header("authorization", &bearer)
    }

    pub fn json(self, body: Value) -> Self {
        self.raw_body("application/json", body.to_string())
    }

    pub fn raw_body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self.header("content-type", content_type)
    }

    pub fn send(self) -> TestResponse {
        let mut builder = http::Request::builder().method(self.method.as_str()).uri(self.path.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(self.body).expect("a valid request");
        let response =
            runtime().block_on(self.app.app.handle(request, "127.0.0.1:40000")).expect("the host served the request");
        TestResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.into_body(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the contract's error envelope: exactly `ok`, `error`, `code` (+ `details`).
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", String::from_utf8_lossy(&self.body));
        let body = self.json();
        assert_eq!(body["ok"], json!(false));
        assert_eq!(body["code"], json!(code));
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
        let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
        let allowed = ["ok", "error", "code", "details"];
        assert!(keys.iter().all(|k| allowed.contains(&k.as_str())), "unexpected keys {keys:?}");
        assert_eq!(body.get("details").is_some(), code == "VALIDATION_ERROR", "details only on VALIDATION_ERROR");
        assert!(self.header("x-request-id").is_some(), "every response has x-request-id");
        body
    }
}

/// Creates a room through the API and returns it (`data`).
#[track_caller]
pub fn create_room(app: &TestApp, owner: &User, body: Value) -> Value {
    let response = app.post("/api/rooms").as_user(owner).json(body).send();
    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

/// The id of a room object.
pub fn id_of(room: &Value) -> String {
    room["id"].as_str().expect("an id").to_owned()
}

/// Joins `user` to `room_id`, asserting success (201 or 200).
#[track_caller]
pub fn join(app: &TestApp, user: &User, room_id: &str) -> Value {
    let response = app.post(&format!("/api/rooms/{room_id}/join")).as_user(user).send();
    assert!(matches!(response.status, 200 | 201), "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

/// `admin` invites `user` to `room_id`, asserting success.
#[track_caller]
pub fn invite(app: &TestApp, admin: &User, room_id: &str, user: &User) -> Value {
    let response =
        app.post(&format!("/api/rooms/{room_id}/invitations")).as_user(admin).json(json!({"userId": user.id})).send();
    assert!(matches!(response.status, 200 | 201), "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

/// Inserts `count` text messages by `author` straight into the store, all with the timestamp
/// `created_at`, in one transaction: fast set-up for history tests. Returns their ids in order.
pub fn seed_messages(app: &TestApp, room_id: &str, author: &User, count: usize, created_at: &str) -> Vec<String> {
    let mut db = rusqlite::Connection::open(app.app.sqlite().path()).expect("open the test database");
    let tx = db.transaction().expect("begin");
    let mut ids = Vec::with_capacity(count);
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO messages (id, room_id, author_id, author_name, kind, content, created_at) \
                 VALUES (?1, ?2, ?3, ?4, 'text', ?5, ?6)",
            )
            .expect("prepare");
        for i in 0..count {
            let id = uuid::Uuid::new_v4().to_string();
            insert
                .execute(rusqlite::params![id, room_id, author.id, author.name, format!("seeded {i}"), created_at])
                .expect("insert");
            ids.push(id);
        }
    }
    tx.commit().expect("commit");
    ids
}

/// Sends a text message through the API, asserting 201.
#[track_caller]
pub fn send_text(app: &TestApp, user: &User, room_id: &str, content: &str) -> Value {
    let response =
        app.post(&format!("/api/rooms/{room_id}/messages")).as_user(user).json(json!({"content": content})).send();
    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

/// One row of an authorization matrix: `caller` (anonymous when `None`) sends `method path` with
/// an optional JSON body and must get `expected`.
#[track_caller]
pub fn assert_status(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    caller: Option<&User>,
    expected: u16,
) {
    let mut request = app.request(method, path);
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(user) = caller {
        request = request.as_user(user);
    }
    let response = request.send();
    assert_eq!(
        response.status,
        expected,
        "{method} {path} as {:?}: {}",
        caller.map(|u| &u.name),
        String::from_utf8_lossy(&response.body)
    );
}

/// `GET /api/rooms/:id` as `user`, asserting 200; returns the room (`data`).
#[track_caller]
pub fn room_view(app: &TestApp, user: &User, room_id: &str) -> Value {
    let response = app.get(&format!("/api/rooms/{room_id}")).as_user(user).send();
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}
