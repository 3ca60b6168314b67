//! The app as SpinKube's node runs it: a container per replica, started by `ctr run` with
//! containerd-shim-spin. `scripts/shim-runtime up` starts containerd and a registry, pushes the
//! image and writes a plan from the rendered `k8s/` variant; `tests/shim/container.py run` turns
//! the plan into the container (the SpinApp's runtime config, variables and volumes) and becomes
//! `ctr run`, so this harness never restates what the manifests say.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::deployment::{is_spin_health, start, Server};
use crate::mode::Flavor;

/// What Spin itself writes on the container's stderr at start-up, besides the components' lines.
const SPIN_WARNINGS: &[&str] = &["Warning: You’re using wasip3-unstable"];

/// A container of this run, by name, and how to remove it.
pub(crate) struct Container {
    name: String,
    launcher: Vec<String>,
    plan: PathBuf,
}

impl Container {
    /// Kills and deletes the container, whatever state it is in (also when it is already gone).
    pub(crate) fn remove(&self) {
        let status = Command::new(&self.launcher[0])
            .args(&self.launcher[1..])
            .arg("remove")
            .arg(&self.plan)
            .args(["--name", &self.name])
            .stdout(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("removing the container {} failed: {status:?}", self.name);
        }
    }
}

/// `CHAT_SHIM_PLAN`: the plan for this flavor's k8s variant, checked to deploy this flavor; read
/// once per test process.
fn plan() -> &'static (PathBuf, Vec<String>) {
    static PLAN: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();
    PLAN.get_or_init(read_plan)
}

fn read_plan() -> (PathBuf, Vec<String>) {
    let path = PathBuf::from(
        std::env::var_os("CHAT_SHIM_PLAN").expect("CHAT_TEST_MODE=shim needs CHAT_SHIM_PLAN (scripts/shim-runtime up)"),
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let plan: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let flavor = Flavor::current();
    assert_eq!(plan["manifest"], flavor.manifest(), "{} does not deploy the {flavor:?} flavor", path.display());
    let launcher = plan["launcher"]
        .as_array()
        .and_then(|parts| parts.iter().map(|part| part.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
        .unwrap_or_else(|| panic!("{}: no launcher", path.display()));
    (path, launcher)
}

/// Replica `index` of the run in `root`, on the sqld at `store`.
pub(crate) fn start_container(root: &Path, index: usize, variables: &BTreeMap<String, String>, store: &str) -> Server {
    let (plan, launcher) = plan();
    let name = format!("replica-{index}");
    // containerd's names are global to its namespace: the run directory's name makes them unique.
    let run = root.file_name().and_then(|n| n.to_str()).expect("a run directory name");
    let container_name = format!("{run}-{index}");
    start(&name, root, None, is_spin_health, |address| {
        let mut command = Command::new(&launcher[0]);
        command.args(&launcher[1..]).arg("run").arg(plan);
        command.args(["--name", &container_name, "--listen", address, "--store", store]);
        command.arg("--dir").arg(root.join(&name));
        for (key, value) in variables {
            command.arg("--var").arg(format!("{key}={value}"));
        }
        let container = Container { name: container_name.clone(), launcher: launcher.clone(), plan: plan.clone() };
        (command, Some(container))
    })
}

/// The components' log lines in a container's stderr: all of it but Spin's own start-up warnings.
pub(crate) fn component_lines(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| !SPIN_WARNINGS.iter().any(|warning| line.starts_with(warning)))
        .flat_map(|line| [line, "\n"])
        .collect()
}
