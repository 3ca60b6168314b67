//! Which runtime the black-box tests run against, chosen by `CHAT_TEST_MODE`.

use std::path::PathBuf;

/// The runtime behind a [`crate::TestApp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The in-process test host (`tests/host`): always available; owns the statement counter and
    /// the database-down switch. `CHAT_TEST_MODE` unset or `host`.
    Host,
    /// Real `spin up` on a local SQLite file, one process per app. `CHAT_TEST_MODE=spin`.
    Spin,
    /// The SpinKube topology: one `sqld` and three `spin up` processes on it, requests spread
    /// round-robin. `CHAT_TEST_MODE=spinkube`.
    SpinKube,
    /// SpinKube's node runtime: one `sqld` and three containers run by containerd-shim-spin
    /// (`ctr run`), each configured from the SpinApp in `k8s/` (`tests/shim/container.py`, the
    /// plan `scripts/shim-runtime` wrote, named by `CHAT_SHIM_PLAN`). `CHAT_TEST_MODE=shim`.
    Shim,
}

impl Mode {
    /// The mode of this test process. An unknown value is a mistake in the test command, so it
    /// stops the test rather than silently falling back to the host.
    pub fn current() -> Mode {
        match std::env::var("CHAT_TEST_MODE").as_deref() {
            Err(_) | Ok("") | Ok("host") => Mode::Host,
            Ok("spin") => Mode::Spin,
            Ok("spinkube") => Mode::SpinKube,
            Ok("shim") => Mode::Shim,
            Ok(other) => panic!("CHAT_TEST_MODE={other}: expected host, spin, spinkube or shim"),
        }
    }

    /// How many replicas serve an app by default in this mode.
    pub fn default_replicas(self) -> usize {
        match self {
            Mode::Host | Mode::Spin => 1,
            Mode::SpinKube | Mode::Shim => 3,
        }
    }
}

/// Which build of the components the real-Spin modes run, chosen by `CHAT_FLAVOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `spin.toml`: WASIp2, an instance per request. `CHAT_FLAVOR` unset or `wasip2`.
    Wasip2,
    /// `spin-wasip3.toml`: WASIp3, instances reused across requests (Spin 3.6.x). `CHAT_FLAVOR=wasip3`.
    Wasip3,
}

impl Flavor {
    pub fn current() -> Flavor {
        match std::env::var("CHAT_FLAVOR").as_deref() {
            Err(_) | Ok("") | Ok("wasip2") => Flavor::Wasip2,
            Ok("wasip3") => Flavor::Wasip3,
            Ok(other) => panic!("CHAT_FLAVOR={other}: expected wasip2 or wasip3"),
        }
    }

    /// The manifest `spin up` runs for this flavor.
    pub fn manifest(self) -> &'static str {
        match self {
            Flavor::Wasip2 => "spin.toml",
            Flavor::Wasip3 => "spin-wasip3.toml",
        }
    }
}

/// `spin`: `SPIN_BIN`, else `spin` on `PATH`.
pub fn spin_binary() -> Option<PathBuf> {
    binary("SPIN_BIN", "spin")
}

/// `sqld`: `SQLD_BIN`, else `sqld` on `PATH`.
pub fn sqld_binary() -> Option<PathBuf> {
    binary("SQLD_BIN", "sqld")
}

fn binary(variable: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|path| path.is_file())
}
