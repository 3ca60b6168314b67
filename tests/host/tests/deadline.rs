//! A guest that never answers cannot hang the host: past the request's deadline its instance is
//! stopped and a bare 500 answered, whether it computes forever (the epoch deadline traps it)
//! or waits on the host forever (the host stops waiting).

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::manifest_with_component;
use spin_test_host::{App, AppOptions};

const DEADLINE: Duration = Duration::from_millis(300);

/// The answer to `GET /` from the component in `wat`, or a panic if none came within a minute.
async fn answer_of(wat: &str) -> (http::Response<Bytes>, String) {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_with_component(dir.path(), wat);
    let options = AppOptions { request_deadline: Some(DEADLINE), ..AppOptions::default() };
    let app = App::load(&manifest, options).expect("loading the probe");
    let request = http::Request::get("/").header("host", "localhost").body(Bytes::new()).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(60), app.handle(request, "127.0.0.1:40000"))
        .await
        .expect("the host answered within a minute")
        .expect("an answer");
    (response, app.logs())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_loops_forever_is_trapped_and_answered_a_bare_500() {
    let (response, logs) = answer_of(include_str!("components/loops-forever.wat")).await;
    assert_eq!((response.status(), response.body().len()), (http::StatusCode::INTERNAL_SERVER_ERROR, 0));
    assert!(logs.contains("component trapped"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_waits_forever_is_stopped_and_answered_a_bare_500() {
    let (response, logs) = answer_of(include_str!("components/waits-forever.wat")).await;
    assert_eq!((response.status(), response.body().len()), (http::StatusCode::INTERNAL_SERVER_ERROR, 0));
    assert!(logs.contains("past its deadline"), "{logs}");
}
