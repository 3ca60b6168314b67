//! Replies and search (contract v1.2): `replyTo` on send and as a filter of history, `replyCount`,
//! and `search`, a case-insensitive substring filter with the history's cursors and order.

use api_tests::{create_room_ok, id_of, join_ok, room_view_ok, send_text_ok, TestApp, TestResponse, User};
use serde_json::{json, Value};

fn room_with(app: &TestApp, admin: &User, name: &str) -> String {
    id_of(&create_room_ok(app, admin, json!({ "name": name })))
}

fn reply(app: &TestApp, user: &User, room: &str, target: &str, content: &str) -> TestResponse {
    let body = json!({"content": content, "replyTo": target});
    app.post(&format!("/api/rooms/{room}/messages")).as_user(user).json(body).send()
}

#[track_caller]
fn reply_ok(app: &TestApp, user: &User, room: &str, target: &Value, content: &str) -> Value {
    let response = reply(app, user, room, target["id"].as_str().unwrap(), content);
    assert_eq!(response.status, 201, "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"].clone()
}

fn page(app: &TestApp, user: &User, room: &str, query: &str) -> TestResponse {
    app.get(&format!("/api/rooms/{room}/messages?{query}")).as_user(user).send()
}

#[track_caller]
fn contents(app: &TestApp, user: &User, room: &str, query: &str) -> Vec<String> {
    let response = page(app, user, room, query);
    assert_eq!(response.status, 200, "{query}: {}", String::from_utf8_lossy(&response.body));
    let data = response.json()["data"].as_array().unwrap().clone();
    data.iter().map(|m| m["content"].as_str().unwrap_or("<tombstone>").to_owned()).collect()
}

fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn get_message(app: &TestApp, user: &User, room: &str, message: &Value) -> Value {
    let path = format!("/api/rooms/{room}/messages/{}", message["id"].as_str().unwrap());
    app.get(&path).as_user(user).send().json()["data"].clone()
}

#[test]
fn a_reply_names_its_target_and_the_target_counts_its_live_replies() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    let question = send_text_ok(&app, &ada, &room, "lunch?");
    assert_eq!((&question["replyTo"], &question["replyCount"]), (&Value::Null, &json!(0)));
    let yes = reply_ok(&app, &ada, &room, &question, "yes");
    reply_ok(&app, &ada, &room, &question, "at noon");
    assert_eq!(yes["replyTo"], question["id"]);
    assert_eq!(get_message(&app, &ada, &room, &question)["replyCount"], 2);
    let path = format!("/api/rooms/{room}/messages/{}", yes["id"].as_str().unwrap());
    assert_eq!(app.delete(&path).as_user(&ada).send().status, 204);
    assert_eq!(get_message(&app, &ada, &room, &question)["replyCount"], 1, "a deleted reply no longer counts");
}

#[test]
fn replies_are_flat_and_may_answer_a_tombstone() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    let question = send_text_ok(&app, &ada, &room, "q");
    let answer = reply_ok(&app, &ada, &room, &question, "a");
    let follow_up = reply_ok(&app, &ada, &room, &answer, "a to a");
    assert_eq!(follow_up["replyTo"], answer["id"], "stored as given");
    let path = format!("/api/rooms/{room}/messages/{}", question["id"].as_str().unwrap());
    assert_eq!(app.delete(&path).as_user(&ada).send().status, 204);
    reply_ok(&app, &ada, &room, &question, "to the deleted one");
}

#[test]
fn a_reply_must_answer_a_message_of_its_room() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    let elsewhere = room_with(&app, &ada, "Elsewhere");
    let foreign = send_text_ok(&app, &ada, &elsewhere, "there");
    let unknown = uuid::Uuid::new_v4().to_string();
    for target in [foreign["id"].as_str().unwrap(), unknown.as_str(), "not-an-id"] {
        let refused = reply(&app, &ada, &room, target, "hi").assert_error(400, "VALIDATION_ERROR");
        assert_eq!(refused["details"][0]["field"], "replyTo", "{target}");
    }
    assert_eq!(page(&app, &ada, &room, "").json()["data"], json!([]), "nothing was sent");
}

#[test]
fn reply_to_lists_the_replies_in_history_order_with_its_cursors() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    let question = send_text_ok(&app, &ada, &room, "q");
    for i in 0..5 {
        reply_ok(&app, &ada, &room, &question, &format!("r{i}"));
        send_text_ok(&app, &ada, &room, &format!("other {i}"));
    }
    let id = question["id"].as_str().unwrap();
    assert_eq!(contents(&app, &ada, &room, &format!("replyTo={id}")), ["r0", "r1", "r2", "r3", "r4"]);
    let newest = page(&app, &ada, &room, &format!("replyTo={id}&limit=2")).json();
    assert_eq!(newest["pagination"]["hasMore"], true);
    let before = newest["pagination"]["prevCursor"].as_str().unwrap();
    assert_eq!(contents(&app, &ada, &room, &format!("replyTo={id}&limit=2&before={before}")), ["r1", "r2"]);
    let first = page(&app, &ada, &room, &format!("replyTo={id}&limit=1&before={before}")).json();
    let from = first["pagination"]["nextCursor"].as_str().unwrap();
    assert_eq!(contents(&app, &ada, &room, &format!("replyTo={id}&after={from}")), ["r3", "r4"]);
}

#[test]
fn reply_to_names_a_message_of_this_room() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    let elsewhere = room_with(&app, &ada, "Elsewhere");
    let foreign = send_text_ok(&app, &ada, &elsewhere, "there");
    page(&app, &ada, &room, &format!("replyTo={}", foreign["id"].as_str().unwrap())).assert_error(404, "NOT_FOUND");
    let refused = page(&app, &ada, &room, "replyTo=nope").assert_error(400, "VALIDATION_ERROR");
    assert_eq!(refused["details"][0]["field"], "replyTo");
}

#[test]
fn search_matches_a_substring_ignoring_case_as_room_names_do() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    for text in ["Meet at the Straße", "STRASSE works too", "nothing here", "ΟΔΟΣ", "Élan", "e\u{301}lan vital"] {
        send_text_ok(&app, &ada, &room, text);
    }
    let search = |text: &str| contents(&app, &ada, &room, &format!("search={}", encoded(text)));
    assert_eq!(search("strasse"), ["Meet at the Straße", "STRASSE works too"]);
    assert_eq!(search("  straße "), ["Meet at the Straße", "STRASSE works too"]);
    assert_eq!(search("οδος"), ["ΟΔΟΣ"]);
    assert_eq!(search("ÉLAN"), ["Élan", "e\u{301}lan vital"]);
    assert_eq!(search("lan"), ["Élan", "e\u{301}lan vital"]);
    assert_eq!(search("absent"), Vec::<String>::new());
}

#[test]
fn search_of_one_or_two_characters_is_served_too() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    for text in ["ok", "OK then", "no", "Ö"] {
        send_text_ok(&app, &ada, &room, text);
    }
    let search = |text: &str| contents(&app, &ada, &room, &format!("search={}", encoded(text)));
    assert_eq!(search("ok"), ["ok", "OK then"]);
    assert_eq!(search("o"), ["ok", "OK then", "no"]);
    assert_eq!(search("ö"), ["Ö"]);
}

#[test]
fn search_takes_percent_underscore_and_quotes_literally() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    for text in ["100% sure", "1000 sure", "snake_case", "snakeXcase", "say \"hi\" now", "a*b OR c"] {
        send_text_ok(&app, &ada, &room, text);
    }
    let search = |text: &str| contents(&app, &ada, &room, &format!("search={}", encoded(text)));
    assert_eq!(search("0% s"), ["100% sure"]);
    assert_eq!(search("e_c"), ["snake_case"]);
    assert_eq!(search("\"hi\""), ["say \"hi\" now"]);
    assert_eq!(search("a*b OR"), ["a*b OR c"]);
    assert_eq!(search("%"), ["100% sure"]);
}

#[test]
fn search_finds_only_live_messages_of_the_room_as_they_read_now() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    let elsewhere = room_with(&app, &ada, "Elsewhere");
    send_text_ok(&app, &ada, &elsewhere, "apple pie");
    let gone = send_text_ok(&app, &ada, &room, "apple tart");
    let edited = send_text_ok(&app, &ada, &room, "apple crumble");
    let path = |m: &Value| format!("/api/rooms/{room}/messages/{}", m["id"].as_str().unwrap());
    assert_eq!(app.delete(&path(&gone)).as_user(&ada).send().status, 204);
    let patch = app.request("PATCH", &path(&edited)).as_user(&ada).json(json!({"content": "pear crumble"})).send();
    assert_eq!(patch.status, 200);
    assert_eq!(contents(&app, &ada, &room, "search=apple"), Vec::<String>::new());
    assert_eq!(contents(&app, &ada, &room, "search=pear"), ["pear crumble"]);
    assert_eq!(contents(&app, &ada, &room, "search=ap"), Vec::<String>::new(), "the short path too");
}

#[test]
fn search_pages_with_the_cursors_of_history_and_combines_with_reply_to() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    let question = send_text_ok(&app, &ada, &room, "question");
    for i in 0..6 {
        send_text_ok(&app, &ada, &room, &format!("match {i}"));
        reply_ok(&app, &ada, &room, &question, &format!("match reply {i}"));
    }
    let first = page(&app, &ada, &room, "search=match&limit=4").json();
    let listed = |page: &Value| -> Vec<String> {
        page["data"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(listed(&first), ["match 4", "match reply 4", "match 5", "match reply 5"]);
    assert_eq!(first["pagination"]["hasMore"], true);
    let before = first["pagination"]["prevCursor"].as_str().unwrap();
    let older = page(&app, &ada, &room, &format!("search=match&limit=4&before={before}")).json();
    assert_eq!(listed(&older), ["match 2", "match reply 2", "match 3", "match reply 3"]);
    let id = question["id"].as_str().unwrap();
    let replies = contents(&app, &ada, &room, &format!("search=reply&replyTo={id}&limit=2"));
    assert_eq!(replies, ["match reply 4", "match reply 5"]);
    let short = contents(&app, &ada, &room, &format!("search=LY&replyTo={id}&limit=2"));
    assert_eq!(short, ["match reply 4", "match reply 5"], "a 2-character search with replyTo");
    let after = older["pagination"]["nextCursor"].as_str().unwrap();
    assert_eq!(
        contents(&app, &ada, &room, &format!("search=match&limit=2&after={after}")),
        ["match 4", "match reply 4"]
    );
}

#[test]
fn a_search_never_moves_the_read_marker() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada, "Talk");
    join_ok(&app, &bob, &room);
    send_text_ok(&app, &ada, &room, "news one");
    send_text_ok(&app, &ada, &room, "news two");
    assert_eq!(contents(&app, &bob, &room, "search=news").len(), 2);
    assert_eq!(room_view_ok(&app, &bob, &room)["unreadCount"], 2);
    let question = send_text_ok(&app, &ada, &room, "q");
    reply_ok(&app, &ada, &room, &question, "a");
    contents(&app, &bob, &room, &format!("replyTo={}", question["id"].as_str().unwrap()));
    assert_eq!(room_view_ok(&app, &bob, &room)["unreadCount"], 0, "a replyTo page moves it, as history does");
}

#[test]
fn search_and_reply_to_are_validated() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    let id = uuid::Uuid::new_v4().to_string();
    let too_long = "x".repeat(101);
    for (query, field) in [
        ("search=".to_owned(), "search"),
        ("search=%20%20".to_owned(), "search"),
        (format!("search={too_long}"), "search"),
        ("search=a&search=b".to_owned(), "search"),
        (format!("replyTo={id}&replyTo={id}"), "replyTo"),
    ] {
        let refused = page(&app, &ada, &room, &query).assert_error(400, "VALIDATION_ERROR");
        assert_eq!(refused["details"][0]["field"], field, "{query}");
    }
    assert_eq!(page(&app, &ada, &room, &format!("search={}", "x".repeat(100))).status, 200);
}

#[test]
fn a_long_history_is_searched_across_pages_without_skipping_or_repeating() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada, "Talk");
    api_tests::seed_messages(&app, &room, &ada, 1_000, "2026-11-25T12:00:00.000Z");
    // Seeded contents are "seeded 0" to "seeded 999": "7" is the short path, "d 7" the trigram index.
    let expected: Vec<String> =
        (0..1_000).filter(|i| i.to_string().contains('7')).map(|i| format!("seeded {i}")).collect();
    for search in ["7", "d 7"] {
        let mut found: Vec<String> = Vec::new();
        let mut query = format!("search={}&limit=100", encoded(search));
        loop {
            let response = page(&app, &ada, &room, &query).json();
            let mut older: Vec<String> = response["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["content"].as_str().unwrap().to_owned())
                .collect();
            older.append(&mut found);
            found = older;
            match response["pagination"]["prevCursor"].as_str() {
                Some(before) => query = format!("search={}&limit=100&before={before}", encoded(search)),
                None => break,
            }
        }
        let wanted: Vec<&String> = expected.iter().filter(|c| c.contains(search)).collect();
        assert_eq!(found.iter().collect::<Vec<_>>(), wanted, "{search}");
    }
}
