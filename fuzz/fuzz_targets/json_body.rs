//! Any request body, declared JSON or not: parsed and validated into each body type of the API,
//! or refused with a 4xx, never a panic. The first byte picks the content type.
#![no_main]

use chat::membership::{InvitationBody, RoleBody};
use chat::messages::{NewMessage, SendMessageBody};
use chat::request::parse_json_body;
use chat::rooms::{CreateRoomBody, NewRoom, RoomChanges, UpdateRoomBody};
use chat::ApiError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let content_type = match selector % 3 {
        0 => Some("application/json"),
        1 => Some("application/merge-patch+json; charset=utf-8"),
        _ => None,
    };
    let outcomes: [Result<(), ApiError>; 5] = [
        parse_json_body::<CreateRoomBody>(body, content_type).and_then(NewRoom::parse).map(drop),
        parse_json_body::<UpdateRoomBody>(body, content_type).and_then(RoomChanges::parse).map(drop),
        parse_json_body::<SendMessageBody>(body, content_type).and_then(NewMessage::parse).map(drop),
        parse_json_body::<RoleBody>(body, content_type).map(drop),
        parse_json_body::<InvitationBody>(body, content_type).and_then(|b| b.user_id()).map(drop),
    ];
    for error in outcomes.into_iter().filter_map(Result::err) {
        assert!((400..500).contains(&error.status()), "{error:?}");
    }
});
