//! Helpers shared by the host's own tests.

use std::path::Path;

/// A one-component app in `dir`: `component_wat` (component text) served on every path.
pub fn manifest_with_component(dir: &Path, component_wat: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("probe.wasm"), wat::parse_str(component_wat).expect("valid component text")).unwrap();
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        r#"spin_manifest_version = 2
[application]
name = "probe"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "probe.wasm"
"#,
    )
    .unwrap();
    manifest
}
