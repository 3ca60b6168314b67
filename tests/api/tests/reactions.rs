//! Reactions (contract v1.2): one per member, message and emoji; at most 20 distinct emoji on a
//! message; aggregated on the message object, sorted by count then emoji.

use api_tests::{create_room_ok, id_of, join_ok, send_text_ok, TestApp, TestResponse, User};
use serde_json::{json, Value};

const THUMBS_UP: &str = "%F0%9F%91%8D";

fn room_with(app: &TestApp, admin: &User) -> String {
    id_of(&create_room_ok(app, admin, json!({"name": "Talk"})))
}

fn reaction_path(room: &str, message: &Value, emoji: &str) -> String {
    format!("/api/rooms/{room}/messages/{}/reactions/{emoji}", message["id"].as_str().unwrap())
}

fn react(app: &TestApp, user: &User, room: &str, message: &Value, emoji: &str) -> TestResponse {
    app.put(&reaction_path(room, message, emoji)).as_user(user).send()
}

#[track_caller]
fn react_ok(app: &TestApp, user: &User, room: &str, message: &Value, emoji: &str) -> Value {
    let response = react(app, user, room, message, emoji);
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    response.json()["data"]["reactions"].clone()
}

fn unreact(app: &TestApp, user: &User, room: &str, message: &Value, emoji: &str) -> TestResponse {
    app.delete(&reaction_path(room, message, emoji)).as_user(user).send()
}

#[test]
fn a_message_starts_with_no_reactions() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    assert_eq!(send_text_ok(&app, &ada, &room, "hi")["reactions"], json!([]));
}

#[test]
fn a_member_reacts_once_per_emoji_whatever_the_retries() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "hi");
    let first = react(&app, &ada, &room, &message, THUMBS_UP);
    let again = react(&app, &ada, &room, &message, THUMBS_UP);
    assert_eq!(first.json()["data"], again.json()["data"], "the same message both times");
    assert_eq!(again.json()["data"]["reactions"], json!([{"emoji": "👍", "count": 1}]));
}

#[test]
fn members_reacting_alike_are_counted() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    let message = send_text_ok(&app, &ada, &room, "hi");
    react_ok(&app, &ada, &room, &message, THUMBS_UP);
    assert_eq!(react_ok(&app, &bob, &room, &message, THUMBS_UP), json!([{"emoji": "👍", "count": 2}]));
}

#[test]
fn reactions_are_sorted_by_count_then_emoji() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    let message = send_text_ok(&app, &ada, &room, "hi");
    for emoji in ["b", "a", "%F0%9F%8E%89", "c"] {
        react_ok(&app, &ada, &room, &message, emoji);
    }
    let reactions = react_ok(&app, &bob, &room, &message, "c");
    let expected = json!([{"emoji": "c", "count": 2}, {"emoji": "a", "count": 1}, {"emoji": "b", "count": 1}, {"emoji": "🎉", "count": 1}]);
    assert_eq!(reactions, expected);
    let page = app.get(&format!("/api/rooms/{room}/messages")).as_user(&bob).send().json();
    assert_eq!(page["data"][0]["reactions"], expected, "pages carry them too");
}

#[test]
fn taking_a_reaction_back_is_idempotent() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "hi");
    react_ok(&app, &ada, &room, &message, THUMBS_UP);
    assert_eq!(unreact(&app, &ada, &room, &message, THUMBS_UP).status, 204);
    assert_eq!(unreact(&app, &ada, &room, &message, THUMBS_UP).status, 204, "also when there was none");
    let read = app.get(&format!("/api/rooms/{room}/messages/{}", message["id"].as_str().unwrap())).as_user(&ada).send();
    assert_eq!(read.json()["data"]["reactions"], json!([]));
}

#[test]
fn a_message_holds_at_most_20_distinct_emoji() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    let message = send_text_ok(&app, &ada, &room, "hi");
    for i in 0..20 {
        react_ok(&app, &ada, &room, &message, &format!("e{i}"));
    }
    react(&app, &ada, &room, &message, "e20").assert_error(409, "TOO_MANY_REACTIONS");
    react(&app, &bob, &room, &message, "e20").assert_error(409, "TOO_MANY_REACTIONS");
    let reactions = react_ok(&app, &bob, &room, &message, "e7");
    assert_eq!(reactions[0], json!({"emoji": "e7", "count": 2}), "an emoji already there is still taken");
    assert_eq!(reactions.as_array().unwrap().len(), 20);
}

#[test]
fn a_tombstone_has_no_reactions_and_takes_none() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "hi");
    react_ok(&app, &ada, &room, &message, THUMBS_UP);
    let path = format!("/api/rooms/{room}/messages/{}", message["id"].as_str().unwrap());
    assert_eq!(app.delete(&path).as_user(&ada).send().status, 204);
    assert_eq!(app.get(&path).as_user(&ada).send().json()["data"]["reactions"], json!([]));
    react(&app, &ada, &room, &message, "x").assert_error(409, "MESSAGE_DELETED");
    assert_eq!(unreact(&app, &ada, &room, &message, THUMBS_UP).status, 204);
}

#[test]
fn leaving_a_room_keeps_ones_reactions() {
    let app = TestApp::spawn();
    let (ada, bob) = (User::new("Ada"), User::new("Bob"));
    let room = room_with(&app, &ada);
    join_ok(&app, &bob, &room);
    let message = send_text_ok(&app, &ada, &room, "hi");
    react_ok(&app, &bob, &room, &message, THUMBS_UP);
    assert_eq!(app.post(&format!("/api/rooms/{room}/leave")).as_user(&bob).send().status, 204);
    let read = app.get(&format!("/api/rooms/{room}/messages/{}", message["id"].as_str().unwrap())).as_user(&ada).send();
    assert_eq!(read.json()["data"]["reactions"], json!([{"emoji": "👍", "count": 1}]));
    unreact(&app, &bob, &room, &message, THUMBS_UP).assert_error(403, "NOT_MEMBER");
}

#[test]
fn an_emoji_is_compared_as_given() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "hi");
    react_ok(&app, &ada, &room, &message, "%C3%A9");
    let reactions = react_ok(&app, &ada, &room, &message, "e%CC%81");
    assert_eq!(reactions.as_array().unwrap().len(), 2, "é and e + U+0301 are two emoji: {reactions}");
}

#[test]
fn emoji_validation_table() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let message = send_text_ok(&app, &ada, &room, "hi");
    let too_long = "a".repeat(65);
    for emoji in ["a%20b", "%09", "%00", "%FF", "%E3%80%80", too_long.as_str()] {
        for response in [react(&app, &ada, &room, &message, emoji), unreact(&app, &ada, &room, &message, emoji)] {
            let refused = response.assert_error(400, "VALIDATION_ERROR");
            assert_eq!(refused["details"][0]["field"], "emoji", "{emoji}");
        }
    }
    assert_eq!(react(&app, &ada, &room, &message, &"a".repeat(64)).status, 200);
}

#[test]
fn reacting_to_an_unknown_message_is_404() {
    let app = TestApp::spawn();
    let ada = User::new("Ada");
    let room = room_with(&app, &ada);
    let missing = json!({"id": uuid::Uuid::new_v4().to_string()});
    react(&app, &ada, &room, &missing, THUMBS_UP).assert_error(404, "NOT_FOUND");
    unreact(&app, &ada, &room, &missing, THUMBS_UP).assert_error(404, "NOT_FOUND");
}

/// Needs the test host's own switches (statement counter): the real-Spin runs skip this module.
mod host_only {
    use super::*;

    #[test]
    fn a_page_costs_the_same_statements_whatever_its_reactions() {
        let app = TestApp::spawn();
        let (ada, bob) = (User::new("Ada"), User::new("Bob"));
        let room = room_with(&app, &ada);
        join_ok(&app, &bob, &room);
        api_tests::seed_messages(&app, &room, &ada, 100, "2026-11-25T12:00:00.000Z");
        let page = |user: &User| app.get(&format!("/api/rooms/{room}/messages?limit=100")).as_user(user).send().json();
        page(&ada); // moves Ada's read marker to the end, so the pages below move none
        let (_, bare) = app.count_statements(|| page(&ada));
        for message in page(&ada)["data"].as_array().unwrap() {
            for emoji in ["a", "b", "c"] {
                react_ok(&app, &ada, &room, message, emoji);
            }
        }
        let (reacted, with_reactions) = app.count_statements(|| page(&ada));
        assert_eq!(reacted["data"][99]["reactions"].as_array().unwrap().len(), 3);
        assert_eq!(bare, with_reactions);
        assert_eq!(with_reactions, 1, "one statement: the page (no read marker moved)");
    }
}
