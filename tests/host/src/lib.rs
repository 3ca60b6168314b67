//! A small Spin-compatible host for testing this app offline. It is test infrastructure, not
//! the product: users run the app with real Spin (`spin up`) or SpinKube.
//!
//! It reads `spin.toml`, loads each component's compiled `.wasm` once, pre-instantiates it and
//! creates a fresh instance per request (as Spin does), routes requests by Spin's rules with the
//! headers Spin adds, and provides exactly the Spin interfaces the components import:
//! `spin:sqlite/sqlite@3.0.0` ([`sqlite`]) and `fermyon:spin/variables@2.0.0` ([`variables`]).
//! A component importing anything else fails to load. Before routing it answers what Spin's
//! HTTP trigger answers itself ([`NoAnswer`], [`spin_refusal`]); where the host and real Spin
//! were seen to differ, the host was made to do what Spin does.
//!
//! Tests call [`App::handle`] in process; `spin-test-host serve` puts the same app behind HTTP.

pub mod manifest;
pub mod routing;
pub mod serve;
pub mod sqlite;
pub mod variables;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

pub use manifest::Manifest;
pub use sqlite::SqliteStore;

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "spin-host",
        imports: { default: async },
        with: { "spin:sqlite/sqlite.connection": crate::sqlite::Connection },
    });
}

/// Spin's HTTP trigger closes the connection without an answer (observed with Spin 3.6.3 for a
/// request without a `Host`, or with an empty or malformed one).
#[derive(Debug, thiserror::Error)]
#[error("Spin gives no answer: {0}")]
pub struct NoAnswer(pub &'static str);

/// The bare status Spin's HTTP trigger answers itself, before routing, and what it logs
/// (observed with Spin 3.6.3): 400 for a request target holding raw non-ASCII bytes (which
/// must be percent-encoded), 500 for a header value that is not UTF-8.
pub fn spin_refusal(parts: &http::request::Parts) -> Option<(u16, Option<String>)> {
    let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
    if !target.is_ascii() {
        return Some((400, None));
    }
    for value in parts.headers.values() {
        if let Err(error) = std::str::from_utf8(value.as_bytes()) {
            return Some((500, Some(error.to_string())));
        }
    }
    None
}

/// What one component may use: its resolved variables and its database labels.
#[derive(Debug)]
pub struct ComponentContext {
    pub id: String,
    pub variables: BTreeMap<String, String>,
    pub sqlite_databases: Vec<String>,
}

/// Per-request store state.
pub struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: DenyOutboundHttp,
    table: ResourceTable,
    component: Arc<ComponentContext>,
    sqlite: Arc<SqliteStore>,
}

impl State {
    fn new(component: Arc<ComponentContext>, sqlite: Arc<SqliteStore>, wasi: WasiCtx) -> State {
        State {
            wasi,
            http: WasiHttpCtx::new(),
            hooks: DenyOutboundHttp,
            table: ResourceTable::new(),
            component,
            sqlite,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// The app makes no outbound HTTP calls and its manifest allows none.
struct DenyOutboundHttp;

impl WasiHttpHooks for DenyOutboundHttp {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn std::future::Future<
                Output = Result<
                    (
                        http::Response<wasmtime_wasi_http::WasiBody>,
                        Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

/// Where the `default` database lives.
#[derive(Debug, Clone, Default)]
pub enum DatabaseLocation {
    /// A fresh file in a temporary directory, removed with the app.
    #[default]
    Temporary,
    /// A given file, created if missing, kept afterwards (like `.spin/sqlite_db.db`).
    File(PathBuf),
}

/// How to load an app.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Application variables that win over `SPIN_VARIABLE_*` (tests set `jwt_secret` here).
    pub variables: BTreeMap<String, String>,
    pub database: DatabaseLocation,
    /// Copy components' stdout/stderr to this process's stderr (serve mode).
    pub forward_logs: bool,
    /// How long one request may run, computing or waiting, before its instance is stopped and
    /// a bare 500 answered ([`DEFAULT_REQUEST_DEADLINE`] when `None`).
    pub request_deadline: Option<Duration>,
}

/// No request of this app takes a fraction of this; a guest that loops or waits forever must
/// not hang a test run.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// How often the engine's epoch advances: the granularity of the deadline for running code.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How long past its deadline a guest that waits on the host is still waited for. The epoch
/// ticker's sleeps stretch on a busy machine, so running code may reach its epoch deadline
/// later than the wall clock does; this keeps a looping guest's trap from losing that race.
const WAITING_GUEST_GRACE: Duration = Duration::from_secs(1);

struct LoadedComponent {
    pre: ProxyPre<State>,
    context: Arc<ComponentContext>,
}

/// A loaded app, ready to take requests. Cheap to share across tasks (`Clone` is an `Arc`).
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    router: routing::Router,
    components: HashMap<String, LoadedComponent>,
    sqlite: Arc<SqliteStore>,
    logs: Mutex<String>,
    forward_logs: bool,
    request_deadline: Duration,
    _temp_dir: Option<tempfile::TempDir>,
}

/// One engine per process; each component is compiled once per process and file version.
/// Its epoch advances every [`EPOCH_TICK`], so code that runs past its request's deadline traps
/// (as `wasmtime serve` bounds requests).
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).expect("a default wasmtime configuration is valid");
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                ticking.increment_epoch();
            })
            .expect("starting the epoch ticker");
        engine
    })
}

fn compile(path: &Path) -> Result<Component> {
    type Key = (PathBuf, std::time::SystemTime, u64);
    static CACHE: OnceLock<Mutex<HashMap<Key, Component>>> = OnceLock::new();
    let metadata = std::fs::metadata(path).with_context(|| {
        format!(
            "component {} not found: build the components first (cargo build --target wasm32-wasip2 --release)",
            path.display()
        )
    })?;
    let key = (path.to_owned(), metadata.modified()?, metadata.len());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(component) = cache.lock().map_err(|_| anyhow!("component cache poisoned"))?.get(&key) {
        return Ok(component.clone());
    }
    let component = Component::from_file(engine(), path).map_err(|e| anyhow!("compiling {}: {e:#}", path.display()))?;
    cache.lock().map_err(|_| anyhow!("component cache poisoned"))?.insert(key, component.clone());
    Ok(component)
}

impl App {
    /// Loads the app described by the manifest at `manifest_path`.
    pub fn load(manifest_path: &Path, options: AppOptions) -> Result<App> {
        let manifest = Manifest::load(manifest_path)?;
        let app_variables = variables::resolve_app_variables(&manifest, &options.variables)?;

        let (sqlite_path, temp_dir) = match options.database {
            DatabaseLocation::Temporary => {
                let dir = tempfile::tempdir()?;
                (dir.path().join("sqlite_db.db"), Some(dir))
            }
            DatabaseLocation::File(path) => (path, None),
        };
        let sqlite = Arc::new(SqliteStore::new(sqlite_path));

        let mut linker: Linker<State> = Linker::new(engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::SpinHost::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)?;

        let mut components = HashMap::new();
        for (id, spec) in &manifest.components {
            let component = compile(&spec.source)?;
            let pre = linker
                .instantiate_pre(&component)
                .and_then(ProxyPre::new)
                .map_err(|e| anyhow!("component {id} cannot be loaded by this host: {e:#}"))?;
            let variables = spec
                .variables
                .iter()
                .map(|(name, template)| Ok((name.clone(), variables::render_template(template, &app_variables)?)))
                .collect::<Result<_>>()
                .with_context(|| format!("variables of component {id}"))?;
            let context = Arc::new(ComponentContext {
                id: id.clone(),
                variables,
                sqlite_databases: spec.sqlite_databases.clone(),
            });
            components.insert(id.clone(), LoadedComponent { pre, context });
        }
        let router = routing::Router::build(manifest.routes.iter().map(|(r, c)| (r.as_str(), c.as_str())))?;
        Ok(App {
            inner: Arc::new(Inner {
                router,
                components,
                sqlite,
                logs: Mutex::new(String::new()),
                forward_logs: options.forward_logs,
                request_deadline: options.request_deadline.unwrap_or(DEFAULT_REQUEST_DEADLINE),
                _temp_dir: temp_dir,
            }),
        })
    }

    /// The `default` database: statement counter, host-call record and availability switch.
    pub fn sqlite(&self) -> &SqliteStore {
        &self.inner.sqlite
    }

    /// Everything components wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.inner.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Serves one request as Spin would: route, add Spin's headers, run a fresh instance.
    /// `request`'s URI may be a path (`/api/rooms?x=1`) or absolute.
    /// A request Spin's HTTP trigger gives no answer to is an [`Error`] that downcasts to
    /// [`NoAnswer`]; one it refuses itself gets its bare status (see [`spin_refusal`]).
    pub async fn handle(&self, request: http::Request<Bytes>, client_addr: &str) -> Result<http::Response<Bytes>> {
        self.handle_streaming(request.map(Full::new), client_addr).await
    }

    /// [`App::handle`] for a body that arrives as a stream: the component reads it as it comes,
    /// as much as it asks for, as under Spin (nothing is buffered ahead of it).
    pub async fn handle_streaming<B>(
        &self,
        request: http::Request<B>,
        client_addr: &str,
    ) -> Result<http::Response<Bytes>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let (mut parts, body) = request.into_parts();
        let host = parts
            .uri
            .authority()
            .map(|a| a.to_string())
            .or_else(|| parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned));
        let Some(host) = host.filter(|h| h.parse::<http::uri::Authority>().is_ok()) else {
            return Err(NoAnswer("the request has no valid Host").into());
        };
        if let Some((status, message)) = spin_refusal(&parts) {
            if let Some(message) = message {
                self.log("spin", &format!("Error processing request: {message}\n"));
            }
            return Ok(http::Response::builder().status(status).body(Bytes::new())?);
        }
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let full_url = format!("http://{host}{path_and_query}");
        parts.uri = full_url.parse().with_context(|| format!("invalid request URI {full_url}"))?;
        parts.headers.remove(http::header::CONNECTION);

        let Some(found) = self.inner.router.route(parts.uri.path(), &full_url, client_addr) else {
            return Ok(http::Response::builder().status(404).body(Bytes::from_static(b"Not Found"))?);
        };
        for (name, value) in &found.headers {
            parts
                .headers
                .insert(http::HeaderName::try_from(name.as_str())?, http::HeaderValue::try_from(value.as_str())?);
        }
        let component = self
            .inner
            .components
            .get(&found.component)
            .ok_or_else(|| anyhow!("route to unknown component {}", found.component))?;
        self.run(component, http::Request::from_parts(parts, body)).await
    }

    async fn run<B>(&self, component: &LoadedComponent, request: http::Request<B>) -> Result<http::Response<Bytes>>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let output = MemoryOutputPipe::new(1 << 20);
        let wasi = WasiCtx::builder().stdout(output.clone()).stderr(output.clone()).build();
        let state = State::new(component.context.clone(), self.inner.sqlite.clone(), wasi);
        let mut store = Store::new(engine(), state);
        let deadline = self.inner.request_deadline;
        store.set_epoch_deadline(deadline.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1) as u64);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store.data_mut().http().new_incoming_request(Scheme::Http, request)?;
        let outparam = store.data_mut().http().new_response_outparam(sender)?;
        let pre = component.pre.clone();
        let mut task = tokio::task::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(&mut store, incoming, outparam).await
        });
        let bare_500 = || http::Response::builder().status(500).body(Bytes::new());
        let id = &component.context.id;
        let exchange = async {
            match receiver.await {
                Ok(Ok(response)) => {
                    let (parts, body) = response.into_parts();
                    let body = body.collect().await.map_err(|e| anyhow!("reading the response body: {e:?}"))?;
                    (&mut task).await??;
                    Ok(http::Response::from_parts(parts, body.to_bytes()))
                }
                Ok(Err(code)) => Err(anyhow!("component {id} answered an error code: {code:?}")),
                Err(_) => match (&mut task).await? {
                    Ok(()) => Err(anyhow!("component {id} never set a response")),
                    // A trap (a panic, or the epoch deadline): Spin answers a bare 500.
                    Err(trap) => {
                        self.log(id, &format!("component trapped: {trap:#}\n"));
                        Ok(bare_500()?)
                    }
                },
            }
        };
        // Code that runs too long traps at its epoch deadline; a guest that waits on the host
        // forever is stopped here.
        let response = match tokio::time::timeout(deadline + WAITING_GUEST_GRACE, exchange).await {
            Ok(response) => response,
            Err(_) => {
                task.abort();
                self.log(id, &format!("request stopped: past its deadline of {deadline:?}\n"));
                Ok(bare_500()?)
            }
        };
        let written = String::from_utf8_lossy(&output.contents()).into_owned();
        self.log(&component.context.id, &written);
        response
    }

    fn log(&self, component: &str, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.inner.forward_logs {
            for line in text.lines() {
                eprintln!("[{component}] {line}");
            }
        }
        if let Ok(mut logs) = self.inner.logs.lock() {
            logs.push_str(text);
        }
    }
}
