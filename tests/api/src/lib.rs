//! Test fixtures for black-box tests of the real wasm components: a [`TestApp`] with a fresh
//! store, users with signed tokens, and a small request builder. The same tests run against the
//! in-process test host, real `spin up` on local SQLite, three `spin up` replicas on one `sqld`
//! (the SpinKube topology), or three containers of SpinKube's node runtime (containerd-shim-spin)
//! on one `sqld`, chosen by `CHAT_TEST_MODE` (see [`Mode`]).
//!
//! Under the test host, the components are built (`cargo build --target wasm32-wasip2
//! --release`) once per test process, so `cargo test` always exercises the current code; the
//! real-Spin modes run what the test command built with `spin build`.

mod body;
mod client;
mod contract;
mod deployment;
mod mode;
mod outage;
mod shim;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};
use spin_test_host::{App, AppOptions, DatabaseLocation};

use body::{GeneratedBody, RequestBody};
use deployment::Deployment;
pub use mode::{spin_binary, sqld_binary, Flavor, Mode};
pub use outage::StoreOutage;
pub use store::Store;

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

/// One instance of the app that takes requests.
enum Replica {
    Host(App),
    /// A `spin up` process listening on this loopback address.
    Http(String),
}

/// The app under test, on its own fresh store, served by one or more replicas.
pub struct TestApp {
    mode: Mode,
    replicas: Vec<Replica>,
    next_replica: AtomicUsize,
    store: Store,
    // Dropped last: stops the processes behind `replicas` / removes the host's database.
    deployment: Option<Deployment>,
    _host_directory: Option<tempfile::TempDir>,
}

impl TestApp {
    /// The app as this mode runs it: one replica, or three in the SpinKube topology.
    pub fn spawn() -> TestApp {
        TestApp::with_variables(BTreeMap::new())
    }

    /// An app whose variables (`jwt_issuer`, ...) are set on top of the test secret.
    pub fn with_variables(variables: BTreeMap<String, String>) -> TestApp {
        let mode = Mode::current();
        TestApp::start(mode, mode.default_replicas(), variables)
    }

    /// `count` replicas sharing one store: host apps on one file, `spin up` processes on one
    /// local SQLite file, or `spin up` processes on one `sqld`.
    pub fn spawn_replicas(count: usize) -> TestApp {
        TestApp::start(Mode::current(), count, BTreeMap::new())
    }

    fn start(mode: Mode, count: usize, mut variables: BTreeMap<String, String>) -> TestApp {
        variables.entry("jwt_secret".into()).or_insert_with(|| TEST_SECRET.into());
        if mode == Mode::Host {
            // wasmtime 48 hosts WASIp2 only; it cannot load Spin 3.6's WASIp3 release candidate.
            assert_eq!(Flavor::current(), Flavor::Wasip2, "the test host serves the WASIp2 flavor only");
            build_components();
            let directory = tempfile::tempdir().expect("a temporary directory");
            let path = directory.path().join("sqlite_db.db");
            let replicas = (0..count)
                .map(|_| {
                    let options = AppOptions {
                        variables: variables.clone(),
                        database: DatabaseLocation::File(path.clone()),
                        forward_logs: false,
                        request_deadline: None,
                    };
                    Replica::Host(App::load(&workspace_root().join("spin.toml"), options).expect("loading the app"))
                })
                .collect();
            return TestApp {
                mode,
                replicas,
                next_replica: AtomicUsize::new(0),
                store: Store::File(path),
                deployment: None,
                _host_directory: Some(directory),
            };
        }
        let deployment = Deployment::start(mode, count, &variables);
        TestApp {
            mode,
            replicas: deployment.addresses().into_iter().map(Replica::Http).collect(),
            next_replica: AtomicUsize::new(0),
            store: deployment.store().clone(),
            deployment: Some(deployment),
            _host_directory: None,
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// The test host's app, for the switches only it has (statement counter, database-down
    /// switch, host-call record). Tests that use it live in a `host_only` module, which the
    /// real-Spin runs skip.
    #[track_caller]
    pub fn host(&self) -> &App {
        match &self.replicas[0] {
            Replica::Host(app) => app,
            Replica::Http(_) => {
                panic!("a host-only test ran under {:?}: it belongs in a `host_only` module", self.mode)
            }
        }
    }

    fn deployment(&self) -> &Deployment {
        self.deployment.as_ref().expect("a deployment of real Spin")
    }

    /// The app's store, for set-up and for checking what was written.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Everything the components wrote to stdout and stderr so far (under Spin, the files in
    /// each replica's `<state dir>/logs/`).
    pub fn logs(&self) -> String {
        match &self.deployment {
            Some(deployment) => deployment.component_logs(),
            None => self
                .replicas
                .iter()
                .map(|replica| match replica {
                    Replica::Host(app) => app.logs(),
                    Replica::Http(_) => String::new(),
                })
                .collect(),
        }
    }

    pub fn request(&self, method: &str, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            app: self,
            replica: None,
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            with_host: true,
            body: RequestBody::Bytes(Bytes::new()),
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

    /// SQLite statements executed while `work` runs (run nothing else concurrently). Host only.
    pub fn count_statements<T>(&self, work: impl FnOnce() -> T) -> (T, u64) {
        let before = self.host().sqlite().statement_count();
        let result = work();
        (result, self.host().sqlite().statement_count() - before)
    }

    /// Sends `request`; `Err` when the runtime gave no answer at all.
    fn send(&self, request: RequestBuilder<'_>) -> Result<TestResponse, String> {
        let index = request.replica.unwrap_or_else(|| self.next_replica.fetch_add(1, Ordering::Relaxed));
        let replica = &self.replicas[index % self.replicas.len()];
        let mut builder = http::Request::builder().method(request.method.as_str()).uri(request.path.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name, http::HeaderValue::from_bytes(value).expect("a header value without CR/LF"));
        }
        if request.with_host {
            // As every HTTP/1.1 client does; a real client uses the server's address.
            let address = match replica {
                Replica::Host(_) => "127.0.0.1:3000",
                Replica::Http(address) => address,
            };
            builder = builder.header(http::header::HOST, address);
        }
        let http_request = builder.body(request.body).expect("a valid request");
        let response = match replica {
            Replica::Host(app) => client::runtime()
                .block_on(app.handle_streaming(http_request, "127.0.0.1:40000"))
                .map_err(|e| format!("{e:#}"))?,
            Replica::Http(address) => client::send(address, http_request)?,
        };
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok());
        let path = request.path.split('?').next().unwrap_or_default();
        if let Err(mismatch) = contract::check(&request.method, path, status, content_type, response.body()) {
            panic!("{mismatch}");
        }
        if let Err(missing) = contract::check_hardening(&request.method, path, status, response.headers()) {
            panic!("{missing}");
        }
        Ok(TestResponse { status, headers: response.headers().clone(), body: response.into_body() })
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
    replica: Option<usize>,
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    with_host: bool,
    body: RequestBody,
}

impl RequestBuilder<'_> {
    /// Sends to replica `index` (0-based) instead of the next one round-robin.
    pub fn on_replica(mut self, index: usize) -> Self {
        self.replica = Some(index);
        self
    }

    pub fn header(self, name: &str, value: &str) -> Self {
        self.raw_header(name, value.as_bytes())
    }

    /// A header value as bytes, which need not be UTF-8.
    pub fn raw_header(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.push((name.to_owned(), value.to_vec()));
        self
    }

    /// Sends no `Host` header (a client should always send one).
    pub fn without_host(mut self) -> Self {
        self.with_host = false;
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
        self.body = RequestBody::Bytes(body.into());
        self.header("content-type", content_type)
    }

    /// A body of `total` bytes of `fill`, made as it is sent, without a `Content-Length` (chunked);
    /// `taken` counts the bytes the server's side took.
    pub fn chunked_body(mut self, content_type: &str, total: usize, fill: u8, taken: &Arc<AtomicUsize>) -> Self {
        self.body = RequestBody::Generated(GeneratedBody::repeated(fill, total, taken.clone()));
        self.header("content-type", content_type)
    }

    /// `content` sent in chunks without a `Content-Length`.
    pub fn chunked_json(mut self, content: impl Into<Bytes>) -> Self {
        self.body = RequestBody::Generated(GeneratedBody::of(content.into(), Arc::default()));
        self.header("content-type", "application/json")
    }

    /// Declares a body of `length` bytes and never sends one: only a server that does not read
    /// it can answer.
    pub fn stalled_body(mut self, content_type: &str, length: u64, taken: &Arc<AtomicUsize>) -> Self {
        self.body = RequestBody::Generated(GeneratedBody::stalled(taken.clone()));
        self.header("content-type", content_type).header("content-length", &length.to_string())
    }

    /// Sends the request; panics when no answer came.
    #[track_caller]
    pub fn send(self) -> TestResponse {
        let what = format!("{} {}", self.method, self.path);
        self.app.send(self).unwrap_or_else(|e| panic!("{what}: no answer: {e}"))
    }

    /// Sends the request; `Err` says why no answer came (Spin closed the connection, say).
    pub fn try_send(self) -> Result<TestResponse, String> {
        self.app.send(self)
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
pub fn create_room_ok(app: &TestApp, owner: &User, body: Value) -> Value {
    let response = app.post("/api/rooms").as_user(owner).json(body).send();
    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

/// Sends again what `attempt` sends while the answer is a 503 or there is no answer (`Err`),
/// every 20 ms for at most `patience`, calling `on_retry` before each retry, as the contract
/// tells clients to; returns the first other answer. Where no answer is a failure, `attempt`
/// sends with [`RequestBuilder::send`], which panics on it.
pub fn retry_while_unavailable(
    patience: Duration,
    attempt: impl Fn() -> Result<TestResponse, String>,
    mut on_retry: impl FnMut(),
) -> TestResponse {
    let deadline = Instant::now() + patience;
    loop {
        let unavailable = match attempt() {
            Ok(response) if response.status != 503 => return response,
            Ok(response) => format!("503 {}", String::from_utf8_lossy(&response.body)),
            Err(error) => error,
        };
        assert!(Instant::now() < deadline, "still unavailable after {patience:?}: {unavailable}");
        on_retry();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The id of a room object.
pub fn id_of(room: &Value) -> String {
    room["id"].as_str().expect("an id").to_owned()
}

/// Joins `user` to `room_id`, asserting success (201 or 200).
#[track_caller]
pub fn join_ok(app: &TestApp, user: &User, room_id: &str) -> Value {
    let response = app.post(&format!("/api/rooms/{room_id}/join")).as_user(user).send();
    assert!(matches!(response.status, 200 | 201), "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

/// `admin` invites `user` to `room_id`, asserting success.
#[track_caller]
pub fn invite_ok(app: &TestApp, admin: &User, room_id: &str, user: &User) -> Value {
    let response =
        app.post(&format!("/api/rooms/{room_id}/invitations")).as_user(admin).json(json!({"userId": user.id})).send();
    assert!(matches!(response.status, 200 | 201), "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

/// Inserts `count` text messages by `author` straight into the store, all with the timestamp
/// `created_at`, in one transaction: fast set-up for history tests. Returns their ids in order.
pub fn seed_messages(app: &TestApp, room_id: &str, author: &User, count: usize, created_at: &str) -> Vec<String> {
    // `seeded {i}` is its own folded form (content_key), so seeded messages are searchable.
    const INSERT: &str =
        "INSERT INTO messages (id, room_id, author_id, author_name, kind, content, content_key, created_at) \
                          VALUES (?1, ?2, ?3, ?4, 'text', ?5, ?5, ?6)";
    let ids: Vec<String> = (0..count).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let statements: Vec<(&str, Vec<Value>)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                INSERT,
                vec![
                    json!(id),
                    json!(room_id),
                    json!(author.id),
                    json!(author.name),
                    json!(format!("seeded {i}")),
                    json!(created_at),
                ],
            )
        })
        .collect();
    app.store().execute_in_transaction(&statements);
    ids
}

/// Sends a text message through the API, asserting 201.
#[track_caller]
pub fn send_text_ok(app: &TestApp, user: &User, room_id: &str, content: &str) -> Value {
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
pub fn room_view_ok(app: &TestApp, user: &User, room_id: &str) -> Value {
    let response = app.get(&format!("/api/rooms/{room_id}")).as_user(user).send();
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

/// The whole history of `room` as replica `replica` pages it (100 at a time, by `prevCursor`),
/// oldest first.
#[track_caller]
pub fn history_on(app: &TestApp, replica: usize, user: &User, room: &str) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    let mut query = "limit=100".to_owned();
    loop {
        let response = app.get(&format!("/api/rooms/{room}/messages?{query}")).on_replica(replica).as_user(user).send();
        assert_eq!(response.status, 200, "replica {replica}: {}", String::from_utf8_lossy(&response.body));
        let page = response.json();
        let mut older = page["data"].as_array().cloned().unwrap_or_default();
        older.append(&mut messages);
        messages = older;
        match page["pagination"]["prevCursor"].as_str() {
            Some(prev) => query = format!("limit=100&before={prev}"),
            None => return messages,
        }
    }
}
