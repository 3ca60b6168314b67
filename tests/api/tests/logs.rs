//! Structured logs: every request ends with one JSON line on the component's stderr (under Spin,
//! `<state dir>/logs/<component>_stderr.txt`), written whole even when instances run at once,
//! naming the route's pattern, the status, the caller and the cost, never a token or content.

use api_tests::{create_room_ok, id_of, send_text_ok, TestApp, User};
use serde_json::{json, Value};

/// Every line the components wrote, each parsed as JSON (a line that is not JSON fails).
fn log_lines(app: &TestApp) -> Vec<Value> {
    app.logs()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect()
}

/// The line that ended the request sent with `request_id`.
fn line_of(app: &TestApp, request_id: &str) -> Value {
    let lines = log_lines(app);
    let mut mine = lines.iter().filter(|line| line["requestId"] == json!(request_id) && line.get("status").is_some());
    let line = mine.next().unwrap_or_else(|| panic!("no line for {request_id} in {lines:?}")).clone();
    assert!(mine.next().is_none(), "one line per request");
    line
}

#[test]
fn a_request_ends_with_one_line_naming_its_route_status_caller_and_cost() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = id_of(&create_room_ok(&app, &ada, json!({"name": "Logged"})));
    let response = app.get(&format!("/api/rooms/{room}")).as_user(&ada).header("x-request-id", "trace-1").send();
    assert_eq!(response.status, 200);
    let line = line_of(&app, "trace-1");
    assert_eq!(line["level"], json!("info"));
    assert_eq!(line["component"], json!("rooms"));
    assert_eq!(line["method"], json!("GET"));
    assert_eq!(line["route"], json!("/api/rooms/:id"));
    assert_eq!(line["status"], json!(200));
    assert_eq!(line["userId"], json!(ada.id));
    assert_eq!(line["statements"], json!(1));
    assert!(line["durationMs"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    let ts = line["ts"].as_str().unwrap_or_default();
    assert!(ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
}

#[test]
fn an_unknown_route_is_logged_without_a_route_or_a_caller() {
    let app = TestApp::spawn();
    app.get("/api/nowhere").header("x-request-id", "lost-1").send().assert_error(404, "NOT_FOUND");
    let line = line_of(&app, "lost-1");
    assert_eq!(
        (line["route"].clone(), line["userId"].clone(), line["status"].clone()),
        (json!(null), json!(null), json!(404))
    );
}

#[test]
fn a_store_failure_is_logged_with_its_detail_which_the_client_never_sees() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    assert_eq!(app.get("/ready").send().status, 200);
    let outage = app.take_store_down();
    let response = app.get("/api/rooms").as_user(&ada).header("x-request-id", "down-1").send();
    drop(outage);
    response.assert_error(503, "SERVICE_UNAVAILABLE");
    let line = line_of(&app, "down-1");
    assert_eq!(line["level"], json!("warn"));
    let detail = line["error"].as_str().unwrap_or_default();
    assert!(!detail.is_empty(), "{line}");
    assert!(!String::from_utf8_lossy(&response.body).contains(detail), "the detail stays in the log");
}

#[test]
fn every_line_of_concurrent_failing_requests_is_one_whole_json_object() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    assert_eq!(app.get("/ready").send().status, 200);
    let outage = app.take_store_down();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..25 {
                    app.get("/api/rooms").as_user(&ada).send().assert_error(503, "SERVICE_UNAVAILABLE");
                }
            });
        }
    });
    drop(outage);
    let failed: Vec<Value> = log_lines(&app).into_iter().filter(|line| line["status"] == json!(503)).collect();
    assert_eq!(failed.len(), 200);
    assert!(failed.iter().all(|line| line["route"] == json!("/api/rooms") && line["method"] == json!("GET")));
}

#[test]
fn no_token_content_attachment_url_or_query_reaches_the_logs() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = id_of(&create_room_ok(&app, &ada, json!({"name": "Secrets"})));
    send_text_ok(&app, &ada, &room, "content-that-must-not-be-logged");
    let attachment = json!({"type": "file", "attachment": {
        "url": "https://files.example/url-that-must-not-be-logged", "name": "a.txt", "mimeType": "text/plain", "size": 1}});
    assert_eq!(app.post(&format!("/api/rooms/{room}/messages")).as_user(&ada).json(attachment).send().status, 201);
    app.get("/api/rooms?search=search-that-must-not-be-logged").as_user(&ada).send();
    app.get("/api/rooms").header("authorization", "Bearer not.a-valid.token-that-must-not-be-logged").send();
    let logs = app.logs();
    assert!(!logs.is_empty());
    for secret in [ada.token.as_str(), "content-that", "url-that", "search-that", "token-that"] {
        assert!(!logs.contains(secret), "{secret} was logged: {logs}");
    }
}
