//! Bad input always gets a clear 4xx in the error envelope: never a 500, a panic (a bare 500
//! from the runtime) or a stored side effect.

use api_tests::{create_room_ok, id_of, send_text_ok, TestApp, User};
use serde_json::json;

#[test]
fn hostile_requests_get_4xx_envelopes_on_every_route() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = id_of(&create_room_ok(&app, &ada, json!({"name": "Target"})));
    let message = send_text_ok(&app, &ada, &room, "x")["id"].as_str().unwrap().to_owned();
    let routes = [
        ("GET", "/api/rooms".to_owned()),
        ("POST", "/api/rooms".to_owned()),
        ("GET", format!("/api/rooms/{room}")),
        ("PUT", format!("/api/rooms/{room}")),
        ("DELETE", format!("/api/rooms/{}", uuid::Uuid::new_v4())),
        ("POST", format!("/api/rooms/{room}/join")),
        ("POST", format!("/api/rooms/{room}/leave")),
        ("GET", format!("/api/rooms/{room}/members")),
        ("PUT", format!("/api/rooms/{room}/members/{}", ada.id)),
        ("DELETE", format!("/api/rooms/{room}/members/{}", uuid::Uuid::new_v4())),
        ("POST", format!("/api/rooms/{room}/invitations")),
        ("GET", format!("/api/rooms/{room}/invitations")),
        ("DELETE", format!("/api/rooms/{room}/invitations/{}", uuid::Uuid::new_v4())),
        ("GET", format!("/api/rooms/{room}/messages")),
        ("POST", format!("/api/rooms/{room}/messages")),
        ("GET", format!("/api/rooms/{room}/messages/{message}")),
        ("DELETE", format!("/api/rooms/{room}/messages/{}", uuid::Uuid::new_v4())),
    ];
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"\xff\xfe\x00garbage".to_vec()),
        ("application/json", deep.into_bytes()),
        ("application/json", br#"{"name": 1e999, "content": 18446744073709551616}"#.to_vec()),
        ("application/json", br#"{"name": "\u0000\u0000\u0000", "content": "\ud800"}"#.to_vec()),
        ("application/json", br#"{"role": ["admin"], "userId": {"$ne": null}, "type": 7}"#.to_vec()),
        ("application/json", b"null".to_vec()),
        ("application/json; charset=latin1", br#"{"name": "caf\xe9"}"#.to_vec()),
        ("multipart/form-data", b"--x\r\n".to_vec()),
    ];
    let queries = [
        "?page=99999999999999999999&limit=-0",
        "?limit=1e2&before=%00&after=",
        "?search=%FF%FE&joined=TRUE&invited=%00",
        "?before=AQAAAAAAAAAB&before=x",
    ];
    for (method, path) in &routes {
        for (content_type, body) in &bodies {
            let response = app.request(method, path).as_user(&ada).raw_body(content_type, body.clone()).send();
            assert!(response.status < 500, "{method} {path} with {content_type} body: {}", response.status);
            if response.status >= 400 {
                response.assert_error(response.status, response.json()["code"].as_str().unwrap());
            }
        }
        for query in queries {
            let response = app.request(method, &format!("{path}{query}")).as_user(&ada).send();
            assert!(response.status < 500, "{method} {path}{query}: {}", response.status);
        }
    }
    for path in ["/api/rooms/%ZZ", "/api/rooms/../../etc/passwd", "/api/rooms/😀/messages", "//api//rooms"] {
        let response = app.get(path).as_user(&ada).send();
        assert!((400..500).contains(&response.status), "{path}: {}", response.status);
    }
    let weird_tokens = ["Bearer ", "Bearer a.b.c", "Bearer \u{1F600}", "bearer    ", "Bearer e30.e30.e30"];
    for token in weird_tokens {
        let response = app.get("/api/rooms").header("authorization", token).send();
        response.assert_error(401, "UNAUTHORIZED");
    }
    let rooms = app.get("/api/rooms?limit=100").as_user(&ada).send().json();
    assert_eq!(rooms["pagination"]["total"], 1, "nothing hostile was stored");
    assert!(!app.logs().contains("panicked"), "{}", app.logs());
}
