//! What the runtime answers before any component runs. These were seen under real Spin 3.6.3
//! and the test host was made to do the same; they run in every mode, so a drift between the
//! two fails here, and so does one between `spin up` and SpinKube's shim.

use api_tests::{Mode, TestApp, User};

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

// A raw (not percent-encoded) non-ASCII character in the request target: `spin up` (Spin 3.6.3)
// refuses it with a bare 400 before any component runs; containerd-shim-spin v0.24 (the same
// Spin, built with its own dependency versions) passes raw UTF-8 on to the app, which answers it
// as it answers the percent-encoded form.

#[test]
fn a_raw_non_ascii_character_in_the_path_is_a_bare_400_or_under_the_shim_an_invalid_id() {
    let app = TestApp::spawn();
    let response = app.get("/api/rooms/caf\u{e9}").as_user(&User::new("Ada")).send();
    if app.mode() == Mode::Shim {
        response.assert_error(400, "VALIDATION_ERROR");
    } else {
        assert_eq!((response.status, response.body.len()), (400, 0));
    }
}

#[test]
fn a_raw_non_ascii_character_in_the_query_is_a_bare_400_or_under_the_shim_read_as_given() {
    let app = TestApp::spawn();
    let response = app.get("/health?q=\u{e9}").send();
    if app.mode() == Mode::Shim {
        assert_eq!(response.status, 200);
    } else {
        assert_eq!((response.status, response.body.len()), (400, 0));
    }
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
