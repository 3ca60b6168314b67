//! What the runtime answers before any component runs. These were seen under real Spin 3.6.3
//! and the test host was made to do the same; they run in every mode, so a drift between the
//! two fails here.

use api_tests::{TestApp, User};

#[test]
fn a_request_without_a_host_header_gets_no_answer() {
    let app = TestApp::spawn();
    let outcome = app.get("/health").without_host().try_send();
    assert!(outcome.is_err(), "answered {:?}", outcome.map(|r| r.status));
}

#[test]
fn a_malformed_host_header_gets_no_answer() {
    let app = TestApp::spawn();
    let outcome = app.get("/health").without_host().header("host", "a b").try_send();
    assert!(outcome.is_err(), "answered {:?}", outcome.map(|r| r.status));
}

#[test]
fn a_raw_non_ascii_byte_in_the_path_is_a_bare_400_from_the_runtime() {
    let app = TestApp::spawn();
    let response = app.get("/api/rooms/caf\u{e9}").as_user(&User::new("Ada")).send();
    assert_eq!((response.status, response.body.len()), (400, 0));
}

#[test]
fn a_raw_non_ascii_byte_in_the_query_is_a_bare_400_from_the_runtime() {
    let app = TestApp::spawn();
    let response = app.get("/health?q=\u{e9}").send();
    assert_eq!((response.status, response.body.len()), (400, 0));
}

#[test]
fn percent_encoded_non_ascii_reaches_the_app() {
    let app = TestApp::spawn();
    let response = app.get("/health?q=%C3%A9").send();
    assert_eq!(response.status, 200);
}

#[test]
fn a_header_value_that_is_not_utf8_is_a_bare_500_from_the_runtime() {
    let app = TestApp::spawn();
    let response = app.get("/health").raw_header("x-note", b"caf\xe9").send();
    assert_eq!((response.status, response.body.len()), (500, 0));
}

#[test]
fn a_utf8_header_value_reaches_the_app() {
    let app = TestApp::spawn();
    let response = app.get("/api/rooms").header("authorization", "Bearer caf\u{e9}").send();
    response.assert_error(401, "UNAUTHORIZED");
}
