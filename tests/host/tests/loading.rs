//! What the host refuses to load, with a message that says why.

mod common;

use std::path::Path;

use common::manifest_with_component;
use spin_test_host::{App, AppOptions};

fn load_error(manifest: &Path) -> String {
    match App::load(manifest, AppOptions::default()) {
        Ok(_) => panic!("the host loaded a component it cannot serve"),
        Err(error) => format!("{error:#}"),
    }
}

#[test]
fn a_component_importing_an_interface_the_host_lacks_fails_to_load() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_with_component(
        dir.path(),
        r#"(component (import "fermyon:spin/key-value@2.0.0" (instance (export "open" (func (param "name" string))))))"#,
    );
    let message = load_error(&manifest);
    assert!(message.contains("component probe cannot be loaded"), "{message}");
    assert!(message.contains("fermyon:spin/key-value@2.0.0"), "{message}");
}

#[test]
fn a_missing_component_file_names_the_path_and_the_build_step() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_with_component(dir.path(), "(component)");
    std::fs::remove_file(dir.path().join("probe.wasm")).unwrap();
    let message = load_error(&manifest);
    assert!(message.contains("probe.wasm") && message.contains("build"), "{message}");
}

#[test]
fn a_required_variable_without_a_value_stops_the_app_like_spin_up() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_with_component(dir.path(), "(component)");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n[variables]\nprobe_secret = {{ required = true }}\n")).unwrap();
    let message = load_error(&manifest);
    assert!(message.contains("SPIN_VARIABLE_PROBE_SECRET"), "{message}");
}
