//! The app under real Spin: `spin up` processes or containers run by containerd-shim-spin (and a
//! `sqld` for the SpinKube topology), each on a free loopback port, all in one fresh run directory
//! under `target/api-test-runs/`. Dropping the deployment stops every process and container; when
//! a test failed, the directory (Spin's output, the components' logs, the database) is kept and
//! its path printed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client;
use crate::mode::{spin_binary, sqld_binary, Flavor, Mode};
use crate::shim::{self, Container};
use crate::store::Store;
use crate::workspace_root;

const START_TIMEOUT: Duration = Duration::from_secs(60);
const START_ATTEMPTS: usize = 5;

/// One running process of the deployment.
pub(crate) struct Server {
    name: String,
    child: Child,
    address: String,
    /// Its stdout, and its stderr unless `stderr` names another file.
    output: PathBuf,
    /// A container's stderr, apart: it holds the components' log lines.
    stderr: Option<PathBuf>,
    /// The container a `ctr run` process runs, removed if the process does not end by itself.
    container: Option<Container>,
}

/// The running processes behind one `TestApp`.
pub(crate) struct Deployment {
    root: PathBuf,
    directory: Option<tempfile::TempDir>,
    spins: Vec<Server>,
    sqld: Mutex<Option<Server>>,
    store: Store,
}

impl Deployment {
    /// Starts `replicas` Spin processes for `mode` (`Spin`: on one local SQLite file;
    /// `SpinKube`: on one fresh `sqld`; `Shim`: containers on one fresh `sqld`), with the given
    /// application variables.
    pub(crate) fn start(mode: Mode, replicas: usize, variables: &BTreeMap<String, String>) -> Deployment {
        let runs = workspace_root().join("target/api-test-runs");
        std::fs::create_dir_all(&runs).expect("creating target/api-test-runs");
        let directory = tempfile::Builder::new().prefix("run-").tempdir_in(&runs).expect("a run directory");
        let root = directory.path().to_owned();
        let mut deployment = Deployment {
            root: root.clone(),
            directory: Some(directory),
            spins: Vec::new(),
            sqld: Mutex::new(None),
            store: Store::File(PathBuf::new()),
        };

        let runtime_config = match mode {
            Mode::Host => unreachable!("the test host needs no processes"),
            Mode::Spin if replicas == 1 => {
                // As a user runs it: the default database in the state directory.
                deployment.store = Store::File(root.join("spin-1/sqlite_db.db"));
                None
            }
            Mode::Spin => {
                let database = root.join("sqlite_db.db");
                deployment.store = Store::File(database.clone());
                Some(format!(
                    "[sqlite_database.default]\ntype = \"spin\"\npath = {:?}\n",
                    database.display().to_string()
                ))
            }
            Mode::Shim => {
                let store = deployment.start_sqld_store();
                for index in 1..=replicas {
                    let container = shim::start_container(&root, index, variables, &store);
                    deployment.spins.push(container);
                }
                return deployment;
            }
            Mode::SpinKube => {
                let store = deployment.start_sqld_store();
                // sqld without an auth key accepts any token; Spin requires one to be set.
                Some(format!(
                    "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"http://{store}\"\ntoken = \"unused-by-an-open-sqld\"\n"
                ))
            }
        };
        let runtime_config_file = runtime_config.map(|text| {
            let path = root.join("runtime-config.toml");
            std::fs::write(&path, text).expect("writing the runtime config");
            path
        });
        for index in 1..=replicas {
            let spin = start_spin(&root, index, variables, runtime_config_file.as_deref());
            deployment.spins.push(spin);
        }
        deployment
    }

    /// Starts this deployment's sqld, its store, and answers its address.
    fn start_sqld_store(&mut self) -> String {
        let sqld = start_sqld(&self.root, None);
        let address = sqld.address.clone();
        self.store = Store::Sqld { address: address.clone() };
        self.sqld = Mutex::new(Some(sqld));
        address
    }

    /// The loopback address of each replica, in order.
    pub(crate) fn addresses(&self) -> Vec<String> {
        self.spins.iter().map(|spin| spin.address.clone()).collect()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Kills sqld at once (SIGKILL, as a crash would), keeping its data. SpinKube and Shim only.
    pub(crate) fn kill_sqld(&self) {
        let mut sqld = self.sqld.lock().unwrap_or_else(|e| e.into_inner());
        // The dead server stays, for its address and log, until `restart_sqld` replaces it.
        kill(&mut sqld.as_mut().expect("an sqld (CHAT_TEST_MODE=spinkube)").child);
    }

    /// Starts sqld again on its address and data, after [`Deployment::kill_sqld`].
    pub(crate) fn restart_sqld(&self) {
        let mut sqld = self.sqld.lock().unwrap_or_else(|e| e.into_inner());
        let address = sqld.as_ref().map(|server| server.address.clone()).expect("a killed sqld to restart");
        *sqld = Some(start_sqld(&self.root, Some(&address)));
    }

    /// Everything the components wrote to stdout and stderr: under `spin up` the files in every
    /// replica's state directory, under the shim every container's stderr.
    pub(crate) fn component_logs(&self) -> String {
        let mut logs = String::new();
        for spin in &self.spins {
            if let Some(stderr) = &spin.stderr {
                logs.push_str(&shim::component_lines(&settled(stderr)));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(self.root.join(&spin.name).join("logs")) else { continue };
            let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for file in files {
                logs.push_str(&std::fs::read_to_string(file).unwrap_or_default());
            }
        }
        logs
    }
}

/// The file's text once it has stopped growing for 100 ms (at most 2 s): the shim relays a
/// container's stderr asynchronously, so a request's log line may land just after its answer.
fn settled(path: &Path) -> String {
    let read = || std::fs::read_to_string(path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut text = read();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = read();
        if now == text || Instant::now() > deadline {
            return now;
        }
        text = now;
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let sqld = self.sqld.get_mut().unwrap_or_else(|e| e.into_inner());
        let servers: Vec<&mut Server> = self.spins.iter_mut().chain(sqld.as_mut()).collect();
        stop_all(servers);
        if std::thread::panicking() {
            if let Some(directory) = self.directory.take() {
                let kept = directory.keep();
                eprintln!("---- the test failed: Spin's output and the component logs are kept in {}", kept.display());
                let sqld = self.sqld.get_mut().unwrap_or_else(|e| e.into_inner());
                for server in self.spins.iter().chain(sqld.as_ref()) {
                    for output in std::iter::once(&server.output).chain(&server.stderr) {
                        eprintln!("---- last lines of {} ({}):\n{}", server.name, output.display(), tail(output));
                    }
                }
                eprintln!("---- component logs:\n{}", last_lines(&self.component_logs(), 60));
            }
        }
    }
}

fn start_spin(
    root: &Path,
    index: usize,
    variables: &BTreeMap<String, String>,
    runtime_config: Option<&Path>,
) -> Server {
    let binary = spin_binary().expect("CHAT_TEST_MODE needs Spin: set SPIN_BIN or put spin on PATH");
    let name = format!("spin-{index}");
    let state = root.join(&name);
    start(&name, root, None, is_spin_health, |address| {
        let mut command = Command::new(&binary);
        let manifest = workspace_root().join(Flavor::current().manifest());
        command.current_dir(workspace_root()).arg("up").arg("--from").arg(manifest);
        command.arg("--listen").arg(address).arg("--state-dir").arg(&state);
        if let Some(config) = runtime_config {
            command.arg("--runtime-config-file").arg(config);
        }
        // Only the variables this app is given: none leak in from the caller's environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                command.env_remove(key);
            }
        }
        for (key, value) in variables {
            command.env(format!("SPIN_VARIABLE_{}", key.to_uppercase()), value);
        }
        (command, None)
    })
}

/// sqld on a free loopback port, or on `address` when it restarts.
fn start_sqld(root: &Path, address: Option<&str>) -> Server {
    let binary = sqld_binary().expect("CHAT_TEST_MODE=spinkube or shim needs sqld: set SQLD_BIN or put sqld on PATH");
    let data = root.join("sqld-data");
    start("sqld", root, address, is_sqld_health, |address| {
        let mut command = Command::new(&binary);
        command.arg("--http-listen-addr").arg(address).arg("--db-path").arg(&data);
        command.envs(sqld_limits_of_the_manifest());
        (command, None)
    })
}

/// sqld's `SQLD_MAX_CONCURRENT_*` settings as k8s/base/libsql-statefulset.yaml deploys them, so
/// the tests run sqld as the cluster does.
fn sqld_limits_of_the_manifest() -> Vec<(String, String)> {
    let path = workspace_root().join("k8s/base/libsql-statefulset.yaml");
    let manifest = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<&str> = manifest.lines().map(str::trim).collect();
    let limits: Vec<(String, String)> = lines
        .windows(2)
        .filter_map(|pair| {
            let name = pair[0].strip_prefix("- name: ")?.trim();
            let value = pair[1].strip_prefix("value: ")?.trim().trim_matches('"');
            name.starts_with("SQLD_MAX_CONCURRENT_").then(|| (name.to_owned(), value.to_owned()))
        })
        .collect();
    assert_eq!(limits.len(), 2, "{} should set sqld's two concurrency limits", path.display());
    limits
}

/// The app's `GET /health`: 200 with a JSON body (a server of another test on the same port
/// would answer otherwise).
pub(crate) fn is_spin_health(address: &str) -> bool {
    client::get(address, "/health").is_some_and(|(status, body)| status == 200 && body.starts_with(b"{\"data\""))
}

/// sqld's `GET /health`: 200 with an empty body.
fn is_sqld_health(address: &str) -> bool {
    client::get(address, "/health").is_some_and(|(status, body)| status == 200 && body.is_empty())
}

/// Starts the process `make_command` builds for `address` (else a free loopback address) and
/// waits until `healthy` says it answers. A port taken between choosing and binding it makes
/// the process exit: then it is tried again (on another port, unless `address` was given).
/// Its output goes to `<name>.log`; a container's stderr to `<name>.stderr.log`.
pub(crate) fn start(
    name: &str,
    root: &Path,
    address: Option<&str>,
    healthy: fn(&str) -> bool,
    make_command: impl Fn(&str) -> (Command, Option<Container>),
) -> Server {
    let output = root.join(format!("{name}.log"));
    let mut last_failure = String::new();
    for _ in 0..START_ATTEMPTS {
        let address = address.map_or_else(free_loopback_address, str::to_owned);
        let (mut command, container) = make_command(&address);
        let stderr = container.is_some().then(|| root.join(format!("{name}.stderr.log")));
        let open = |path: &Path| File::options().create(true).append(true).open(path).expect("opening a process log");
        let log = open(&output);
        let error_log = stderr.as_deref().map_or_else(|| log.try_clone().expect("log handle"), open);
        command.stdin(Stdio::null()).stdout(log).stderr(error_log);
        isolate(&mut command);
        let child = command.spawn().unwrap_or_else(|e| panic!("starting {name} ({:?}): {e}", command.get_program()));
        let mut server = Server {
            name: name.to_owned(),
            child,
            address: address.clone(),
            output: output.clone(),
            stderr,
            container,
        };
        match wait_until_healthy(&mut server.child, &address, healthy) {
            Ok(()) => return server,
            Err(failure) => {
                stop_all(vec![&mut server]);
                last_failure = format!("{failure}\n{}", tail(&output));
            }
        }
    }
    panic!("{name} did not start after {START_ATTEMPTS} attempts: {last_failure}");
}

fn wait_until_healthy(child: &mut Child, address: &str, healthy: fn(&str) -> bool) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < START_TIMEOUT {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}"));
        }
        if healthy(address) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("http://{address}/health did not answer within {START_TIMEOUT:?}"))
}

/// A loopback port free now and never handed out before by this process. The kernel may offer a
/// port again as soon as it is released, and a server binds its port only later (a container
/// ~0.3 s later): two tests starting at once could otherwise be given one port, and the second
/// test's health check would be answered by the first test's server.
fn free_loopback_address() -> String {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let address = listener.local_addr().expect("a local address");
        if HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner()).insert(address.port()) {
            return address.to_string();
        }
    }
}

/// Stops the servers together. Each runs in a process group of its own: `spin up` runs the app
/// in a child process (`spin trigger http`), which must stop with it. SIGTERM first (`spin up`
/// then stops its child; `ctr run` passes it to its container, which it then removes), SIGKILL
/// for the whole group if that takes too long, and then a container is removed through
/// containerd whatever its `ctr run` did.
#[cfg(unix)]
fn stop_all(servers: Vec<&mut Server>) {
    for server in &servers {
        // SAFETY: kill(2) on the group this module created for the child; no memory is shared.
        unsafe { libc::kill(-(server.child.id() as i32), libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for server in servers {
        let mut ended = false;
        while Instant::now() < deadline && !ended {
            ended = !matches!(server.child.try_wait(), Ok(None));
            if !ended {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // SAFETY: as above; also reaps a trigger process that outlived `spin up`.
        unsafe { libc::kill(-(server.child.id() as i32), libc::SIGKILL) };
        let _ = server.child.wait();
        // `ctr run --rm` removes its container when it ends, but not always before it exits
        // (a clean-clone CI run found one left): remove it through containerd every time.
        if let Some(container) = &server.container {
            container.remove();
        }
    }
}

/// SIGKILL for the process group at once, as a crash.
#[cfg(unix)]
fn kill(child: &mut Child) {
    // SAFETY: kill(2) on the group this module created for the child; no memory is shared.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
}

#[cfg(not(unix))]
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(not(unix))]
fn stop_all(servers: Vec<&mut Server>) {
    for server in servers {
        let _ = server.child.kill();
        let _ = server.child.wait();
        if let Some(container) = &server.container {
            container.remove();
        }
    }
}

/// Puts the server in a process group of its own, and makes a test process that dies (a panic
/// in `Drop`, a kill) take its servers with it: Linux sends SIGTERM when the spawning *thread*
/// ends, and each test's servers live no longer than its thread, which stops them anyway.
#[cfg(target_os = "linux")]
fn isolate(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    // SAFETY: prctl is async-signal-safe and touches only the child being set up.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn isolate(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
fn isolate(_command: &mut Command) {}

fn tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else { return String::new() };
    let length = file.metadata().map(|m| m.len()).unwrap_or_default();
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(8 * 1024)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    last_lines(&text, 40)
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
