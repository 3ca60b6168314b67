//! Browsers (contract v1.3): CORS for the origins in `cors_allowed_origins`, preflights answered
//! before authentication with each route's own methods, and the hardening headers. (Every answer
//! of every API test is also checked for the hardening headers: `contract::check_hardening`.)

use std::collections::{BTreeMap, BTreeSet};

use api_tests::{create_room_ok, id_of, send_text_ok, TestApp, TestResponse, User};
use serde_json::{json, Value};

const APP_ORIGIN: &str = "https://chat.example.com";
const OTHER_ALLOWED: &str = "http://localhost:5173";
const STRANGER: &str = "https://evil.example.net";
const EXPOSED: &str = "ETag, Location, Retry-After, x-request-id";
const ALLOWED_HEADERS: &str = "authorization, content-type, idempotency-key, if-none-match, x-request-id";

fn app_allowing(list: &str) -> TestApp {
    TestApp::with_variables(BTreeMap::from([("cors_allowed_origins".to_owned(), list.to_owned())]))
}

fn app_with_origins() -> TestApp {
    app_allowing(&format!("{APP_ORIGIN}, {OTHER_ALLOWED}"))
}

fn access_control_headers(response: &TestResponse) -> Vec<String> {
    response
        .headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

/// A browser's preflight of `method` on `path` from `origin`.
fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> TestResponse {
    app.request("OPTIONS", path)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "authorization, content-type")
        .send()
}

/// Every documented path with a concrete id in place of each `{param}`, and its methods.
fn documented_routes() -> Vec<(String, BTreeSet<String>)> {
    let document: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).expect("the document");
    let id = "3f6c2a1e-8b4d-4c7e-9a2f-5d1e0b7c9a48";
    let methods = ["get", "put", "post", "delete", "patch"];
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(template, item)| {
            let path =
                template.split('/').map(|part| if part.starts_with('{') { id } else { part }).collect::<Vec<_>>();
            let served = item.as_object().expect("a path item").keys().filter(|m| methods.contains(&m.as_str()));
            (path.join("/"), served.map(|m| m.to_uppercase()).collect())
        })
        .collect()
}

#[test]
fn an_allowed_origin_gets_itself_back_with_the_exposed_headers_on_a_success() {
    let app = app_with_origins();
    let ada = User::new("Ada");
    let response = app.get("/api/rooms").as_user(&ada).header("origin", OTHER_ALLOWED).send();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), Some(OTHER_ALLOWED));
    assert_eq!(response.header("access-control-expose-headers"), Some(EXPOSED));
    assert_eq!(response.header("vary"), Some("Origin"));
}

#[test]
fn an_allowed_origin_gets_the_cors_headers_on_errors_too() {
    let app = app_with_origins();
    let unauthenticated = app.get("/api/rooms").header("origin", APP_ORIGIN).send();
    unauthenticated.assert_error(401, "UNAUTHORIZED");
    let unknown = app.get("/nowhere").header("origin", APP_ORIGIN).send();
    unknown.assert_error(404, "NOT_FOUND");
    for response in [unauthenticated, unknown] {
        assert_eq!(response.header("access-control-allow-origin"), Some(APP_ORIGIN));
        assert_eq!(response.header("access-control-expose-headers"), Some(EXPOSED));
        assert_eq!(response.header("vary"), Some("Origin"));
    }
}

#[test]
fn a_stranger_gets_no_access_control_header_and_is_served_as_usual() {
    let app = app_with_origins();
    let response = app.get("/api/rooms").as_user(&User::new("Ada")).header("origin", STRANGER).send();
    assert_eq!(response.status, 200);
    assert_eq!(access_control_headers(&response), Vec::<String>::new());
    assert_eq!(response.header("vary"), Some("Origin"));
}

#[test]
fn without_allowed_origins_no_answer_carries_cors_headers_or_varies_on_origin() {
    let app = TestApp::spawn();
    let response = app.get("/api/rooms").as_user(&User::new("Ada")).header("origin", APP_ORIGIN).send();
    assert_eq!(response.status, 200);
    assert_eq!(access_control_headers(&response), Vec::<String>::new());
    assert_eq!(response.header("vary"), None);
}

#[test]
fn a_preflight_on_every_route_is_answered_before_authentication_with_the_routes_methods() {
    let app = app_with_origins();
    for (path, methods) in documented_routes() {
        for method in &methods {
            let response = preflight(&app, &path, APP_ORIGIN, method);
            let context = format!("preflight {method} {path}");
            assert_eq!((response.status, response.body.len()), (204, 0), "{context}");
            assert_eq!(response.header("access-control-allow-origin"), Some(APP_ORIGIN), "{context}");
            let allowed: BTreeSet<String> = response
                .header("access-control-allow-methods")
                .unwrap_or_default()
                .split(", ")
                .map(str::to_owned)
                .collect();
            assert_eq!(&allowed, &methods, "{context}");
            assert_eq!(response.header("access-control-allow-headers"), Some(ALLOWED_HEADERS), "{context}");
            assert_eq!(response.header("access-control-max-age"), Some("600"), "{context}");
        }
    }
}

#[test]
fn a_preflight_for_a_method_the_route_does_not_serve_gets_no_access_control_header() {
    let app = app_with_origins();
    let response = preflight(&app, "/api/rooms", APP_ORIGIN, "PATCH");
    assert_eq!((response.status, response.body.len()), (204, 0));
    assert_eq!(access_control_headers(&response), Vec::<String>::new());
}

#[test]
fn a_preflight_from_a_stranger_gets_no_access_control_header() {
    let app = app_with_origins();
    let response = preflight(&app, "/api/rooms", STRANGER, "POST");
    assert_eq!((response.status, response.body.len()), (204, 0));
    assert_eq!(access_control_headers(&response), Vec::<String>::new());
}

#[test]
fn options_without_a_preflights_headers_is_204_with_the_allow_header_of_the_405() {
    let app = TestApp::spawn();
    let options = app.request("OPTIONS", "/api/rooms").send();
    assert_eq!((options.status, options.body.len()), (204, 0));
    let not_allowed = app.request("PATCH", "/api/rooms").as_user(&User::new("Ada")).send();
    not_allowed.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(options.header("allow"), not_allowed.header("allow"));
    assert_eq!(options.header("allow"), Some("GET, POST"));
}

#[test]
fn options_on_an_unknown_route_is_404() {
    let app = app_with_origins();
    preflight(&app, "/nowhere", APP_ORIGIN, "GET").assert_error(404, "NOT_FOUND");
}

#[test]
fn message_pages_and_their_304_are_revalidated_and_other_answers_never_stored() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = create_room_ok(&app, &ada, json!({"name": "Cached"}));
    send_text_ok(&app, &ada, &id_of(&room), "hello");
    let path = format!("/api/rooms/{}/messages", id_of(&room));
    let page = app.get(&path).as_user(&ada).send();
    assert_eq!((page.status, page.header("cache-control")), (200, Some("private, no-cache")));
    let etag = page.header("etag").expect("an ETag").to_owned();
    let unchanged = app.get(&path).as_user(&ada).header("if-none-match", &etag).send();
    assert_eq!((unchanged.status, unchanged.header("cache-control")), (304, Some("private, no-cache")));
    let room_view = app.get(&format!("/api/rooms/{}", id_of(&room))).as_user(&ada).send();
    assert_eq!((room_view.status, room_view.header("cache-control")), (200, Some("no-store")));
    let health = app.get("/health").send();
    assert_eq!((health.status, health.header("cache-control")), (200, Some("no-store")));
}

#[test]
fn every_status_class_carries_the_hardening_headers() {
    let app = app_allowing("not an origin");
    let ada = User::new("Ada");
    let room = create_room_ok(&app, &ada, json!({"name": "Hardened"}));
    let answers = [
        app.get("/health").send(),
        app.post(&format!("/api/rooms/{}/leave", id_of(&room))).as_user(&User::new("Bob")).send(),
        app.delete(&format!("/api/rooms/{}", id_of(&room))).as_user(&ada).send(),
        app.request("OPTIONS", "/api/rooms").send(),
        app.get("/api/rooms").send(),
        app.get("/ready").send(),
    ];
    let statuses: Vec<u16> = answers.iter().map(|response| response.status).collect();
    assert_eq!(statuses, [200, 409, 204, 204, 401, 503]);
    for response in &answers {
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(response.header("content-security-policy"), Some("default-src 'none'; frame-ancestors 'none'"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }
}

#[test]
fn an_entry_that_is_not_an_origin_makes_ready_503_names_it_in_the_log_and_applies_no_cors() {
    let app = app_allowing(&format!("{APP_ORIGIN}, https://chat.example.com/app"));
    app.get("/ready").send().assert_error(503, "NOT_READY");
    assert!(app.logs().contains("https://chat.example.com/app"), "{}", app.logs());
    let response = app.get("/api/rooms").as_user(&User::new("Ada")).header("origin", APP_ORIGIN).send();
    assert_eq!(response.status, 200);
    assert_eq!(access_control_headers(&response), Vec::<String>::new());
}

#[test]
fn a_wildcard_is_not_an_origin() {
    let app = app_allowing("*");
    app.get("/ready").send().assert_error(503, "NOT_READY");
    let response = app.get("/health").header("origin", APP_ORIGIN).send();
    assert_eq!(access_control_headers(&response), Vec::<String>::new());
}
