//! The foundation every component shares: health and readiness, routing envelopes, request ids,
//! authentication, the shared database.

use api_tests::{now, sign, TestApp, User};
use serde_json::json;

#[test]
fn health_answers_ok_without_a_token() {
    let app = TestApp::spawn();
    let response = app.get("/health").send();
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"data": {"status": "ok"}}));
    assert_eq!(response.header("content-type"), Some("application/json; charset=utf-8"));
}

#[test]
fn ready_migrates_a_fresh_database_and_reports_the_schema_version() {
    let app = TestApp::spawn();
    let response = app.get("/ready").send();
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.json(), json!({"data": {"status": "ready", "schemaVersion": 5}}));
}

#[test]
fn the_first_migration_puts_the_store_in_write_ahead_log_mode() {
    let app = TestApp::spawn();
    assert_eq!(app.get("/ready").send().status, 200);
    let mode = app.store().query("PRAGMA journal_mode", &[]);
    assert_eq!(mode, vec![vec![json!("wal")]]);
}

#[test]
fn unknown_routes_answer_the_404_envelope() {
    let app = TestApp::spawn();
    for path in ["/", "/nope", "/api", "/api/unknown", "/api/rooms/x/unknown/deeper"] {
        app.get(path).send().assert_error(404, "NOT_FOUND");
    }
}

#[test]
fn a_wrong_method_answers_405_with_allow() {
    let app = TestApp::spawn();
    let response = app.delete("/health").send();
    response.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(response.header("allow"), Some("GET"));
}

#[test]
fn the_request_id_is_echoed_when_well_formed_and_generated_otherwise() {
    let app = TestApp::spawn();
    let echoed = app.get("/health").header("x-request-id", "abc.DEF_123-x").send();
    assert_eq!(echoed.header("x-request-id"), Some("abc.DEF_123-x"));
    for bad in ["has space", &"a".repeat(129)] {
        let generated = app.get("/health").header("x-request-id", bad).send();
        let id = generated.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
}

#[test]
fn the_openapi_document_is_served_without_a_token() {
    let app = TestApp::spawn();
    let response = app.get("/api/openapi.json").send();
    assert_eq!(response.status, 200);
    let document = response.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    let contract = [
        ("/api/rooms", &["get", "post"][..]),
        ("/api/rooms/{id}", &["get", "put", "delete"]),
        ("/api/rooms/{id}/join", &["post"]),
        ("/api/rooms/{id}/leave", &["post"]),
        ("/api/rooms/{id}/members", &["get"]),
        ("/api/rooms/{id}/members/{userId}", &["put", "delete"]),
        ("/api/rooms/{id}/invitations", &["get", "post"]),
        ("/api/rooms/{id}/invitations/{userId}", &["delete"]),
        ("/api/rooms/{id}/messages", &["get", "post"]),
        ("/api/rooms/{id}/messages/{messageId}", &["get", "delete"]),
        ("/health", &["get"]),
        ("/ready", &["get"]),
        ("/api/openapi.json", &["get"]),
    ];
    for (path, methods) in contract {
        for method in methods {
            assert!(paths[path][method].is_object(), "{method} {path} is documented");
        }
    }
}

#[test]
fn api_routes_need_a_valid_bearer_token() {
    let app = TestApp::spawn();
    let user = User::new("Ada");
    let expired = sign(json!({"sub": user.id, "exp": now() - 120}));
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("not bearer", Some("Basic abc".into())),
        ("garbage", Some("Bearer not-a-jwt".into())),
        ("expired", Some(format!("Bearer {expired}"))),
    ];
    for (case, authorization) in cases {
        let mut request = app.get("/api/rooms");
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        let response = request.send();
        response.assert_error(401, "UNAUTHORIZED");
        assert_eq!(response.header("www-authenticate"), Some("Bearer"), "{case}");
    }
}

#[test]
fn a_missing_table_is_migrated_on_first_use_without_calling_ready() {
    let app = TestApp::spawn();
    let user = User::new("Ada");
    let response = app.get("/api/rooms").as_user(&user).send();
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
}

#[test]
fn components_share_one_database() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    // The rooms component writes the room and its admin membership ...
    let created = app.post("/api/rooms").as_user(&ada).json(json!({"name": "Shared"})).send();
    assert_eq!(created.status, 201);
    let room = created.json()["data"]["id"].as_str().unwrap().to_owned();
    // ... the membership component reads that membership ...
    let members = app.get(&format!("/api/rooms/{room}/members")).as_user(&ada).send().json();
    assert_eq!(members["data"][0]["userId"], ada.id.as_str());
    assert_eq!(members["data"][0]["role"], "admin");
    // ... the messages component relies on it to let Ada post, and the rooms component sees the post.
    let sent = app.post(&format!("/api/rooms/{room}/messages")).as_user(&ada).json(json!({"content": "hi"})).send();
    assert_eq!(sent.status, 201);
    let seen = app.get(&format!("/api/rooms/{room}")).as_user(&ada).send().json();
    assert_eq!(seen["data"]["lastMessageAt"], sent.json()["data"]["createdAt"]);
}

/// Needs the test host's own switches (statement counter, database-down switch, host-call record): the real-Spin runs skip this module.
mod host_only {
    use super::*;

    #[test]
    fn ready_costs_one_statement_once_the_schema_is_current() {
        let app = TestApp::spawn();
        assert_eq!(app.get("/ready").send().status, 200);
        let (response, statements) = app.count_statements(|| app.get("/ready").send());
        assert_eq!(response.status, 200);
        assert_eq!(statements, 1);
    }

    #[test]
    fn ready_is_503_not_ready_while_the_database_is_unreachable() {
        let app = TestApp::spawn();
        app.host().sqlite().set_available(false);
        let response = app.get("/ready").send();
        response.assert_error(503, "NOT_READY");
        assert!(response.header("retry-after").is_some());
        app.host().sqlite().set_available(true);
        assert_eq!(app.get("/ready").send().status, 200);
    }

    #[test]
    fn api_requests_are_503_with_retry_after_while_the_database_is_unreachable() {
        let app = TestApp::spawn();
        app.host().sqlite().set_available(false);
        let response = app.get("/api/rooms").as_user(&User::new("Ada")).send();
        response.assert_error(503, "SERVICE_UNAVAILABLE");
        assert_eq!(response.header("retry-after"), Some("5"));
        assert!(app.logs().contains("Connection refused"), "the detail is logged: {}", app.logs());
        assert!(!String::from_utf8_lossy(&response.body).contains("Connection refused"));
    }
}
