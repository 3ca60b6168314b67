//! Property tests: whatever a client sends, the parsing and validation of the API answer a
//! value or a 4xx error, never a panic; and what they accept round-trips.

use std::collections::VecDeque;

use chat::auth::{verify, AuthConfig};
use chat::body::{read_bounded, MAX_BODY_BYTES};
use chat::cursor::CursorCodec;
use chat::history::MessagePageRequest;
use chat::ids::{RoomId, UserId};
use chat::membership::{InvitationBody, RoleBody};
use chat::messages::{parse_idempotency_key, NewMessage, SendMessageBody};
use chat::pagination::PageRequest;
use chat::request::{parse_json_body, Query};
use chat::rooms::{CreateRoomBody, NewRoom, RoomChanges, RoomFilter, UpdateRoomBody};
use chat::ApiError;
use proptest::prelude::*;

const SECRET: &str = "property-secret-property-secret-!";

/// JSON-ish text: mostly what JSON is made of, so the parsers get past the first byte, and
/// objects with the API's own field names holding arbitrary values.
fn jsonish() -> impl Strategy<Value = String> {
    let field = prop::sample::select(vec![
        "name",
        "description",
        "isPrivate",
        "content",
        "type",
        "attachment",
        "role",
        "userId",
        "url",
        "mimeType",
        "size",
    ]);
    prop_oneof![
        proptest::string::string_regex(r#"[{}\[\]":,0-9a-zA-Z \\.+\-eE\x00-\x1f\u{e9}\u{1F600}]{0,200}"#).unwrap(),
        any::<String>(),
        (field, any::<String>(), any::<i64>())
            .prop_map(|(key, text, number)| format!(r#"{{"{key}": {}, "{key}x": {number}}}"#, serde_json::json!(text))),
        (any::<String>(), any::<String>(), any::<i64>()).prop_map(|(url, name, size)| {
            serde_json::json!({"type": "file", "attachment": {"url": url, "name": name, "mimeType": "a/b", "size": size}})
                .to_string()
        }),
    ]
}

/// Every parse of a page request from `query` answers a value or a 400.
fn assert_page_requests_parse_or_400(query: &Query) -> Result<(), TestCaseError> {
    let cursors = CursorCodec::new(SECRET.as_bytes());
    let outcomes = [
        PageRequest::from_query(query).err(),
        RoomFilter::parse(query, UserId::new_random()).err(),
        MessagePageRequest::from_query(query, RoomId::new_random(), &cursors).err(),
    ];
    for error in outcomes.into_iter().flatten() {
        prop_assert_eq!(error.status(), 400, "{:?}", error);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_cursor_text_is_refused_with_400_or_opens(text in any::<String>()) {
        let codec = CursorCodec::new(SECRET.as_bytes());
        if let Err(error) = codec.decode(RoomId::new_random(), &text, "before") {
            prop_assert_eq!(error.status(), 400);
        }
    }

    #[test]
    fn every_issued_cursor_opens_to_its_position_in_its_room_only(seq in any::<i64>()) {
        let codec = CursorCodec::new(SECRET.as_bytes());
        let room = RoomId::new_random();
        let cursor = codec.encode(room, seq);
        prop_assert_eq!(codec.decode(room, &cursor, "after").unwrap(), seq);
        prop_assert!(codec.decode(RoomId::new_random(), &cursor, "after").is_err());
    }

    #[test]
    fn a_cursor_with_any_character_changed_is_refused(
        seq in any::<i64>(), index in any::<prop::sample::Index>(), replacement in "[A-Za-z0-9_-]"
    ) {
        let codec = CursorCodec::new(SECRET.as_bytes());
        let room = RoomId::new_random();
        let cursor = codec.encode(room, seq);
        let at = index.index(cursor.len());
        let mut altered = cursor.clone();
        altered.replace_range(at..at + 1, &replacement);
        if altered != cursor {
            prop_assert!(codec.decode(room, &altered, "after").is_err());
        }
    }

    #[test]
    fn any_query_string_gives_page_requests_or_a_400(raw in any::<String>()) {
        assert_page_requests_parse_or_400(&Query::parse(&raw))?;
    }

    #[test]
    fn any_values_of_the_known_parameters_give_page_requests_or_a_400(
        pairs in prop::collection::vec(
            (prop::sample::select(vec!["page", "limit", "search", "joined", "invited", "before", "after"]), any::<String>()),
            0..6,
        )
    ) {
        let raw = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        assert_page_requests_parse_or_400(&Query::parse(&raw))?;
    }

    #[test]
    fn any_body_is_validated_or_refused_with_a_4xx(body in jsonish(), declared_json in any::<bool>()) {
        let content_type = declared_json.then_some("application/json");
        let bytes = body.as_bytes();
        let outcomes: Vec<Result<(), ApiError>> = vec![
            parse_json_body::<CreateRoomBody>(bytes, content_type).and_then(NewRoom::parse).map(drop),
            parse_json_body::<UpdateRoomBody>(bytes, content_type).and_then(RoomChanges::parse).map(drop),
            parse_json_body::<SendMessageBody>(bytes, content_type).and_then(NewMessage::parse).map(drop),
            parse_json_body::<RoleBody>(bytes, content_type).map(drop),
            parse_json_body::<InvitationBody>(bytes, content_type).and_then(|b| b.user_id()).map(drop),
        ];
        for error in outcomes.into_iter().filter_map(Result::err) {
            prop_assert!((400..500).contains(&error.status()), "{:?}", error);
        }
    }

    #[test]
    fn a_body_in_any_chunks_is_read_whole_or_refused_past_the_limit(
        size in 0..(MAX_BODY_BYTES + 64), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12)
    ) {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(size + 1)).collect();
        points.extend([0, size]);
        points.sort_unstable();
        let mut chunks: VecDeque<Vec<u8>> = points.windows(2).map(|w| body[w[0]..w[1]].to_vec()).collect();
        match read_bounded(&mut chunks, None, MAX_BODY_BYTES) {
            Ok(read) => prop_assert_eq!(read, body),
            Err(error) => {
                prop_assert_eq!(error, ApiError::PayloadTooLarge);
                prop_assert!(size > MAX_BODY_BYTES);
            }
        }
    }

    #[test]
    fn any_idempotency_key_is_accepted_or_refused_with_400(value in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Err(error) = parse_idempotency_key(Some(&value)) {
            prop_assert_eq!(error.status(), 400);
        }
    }

    #[test]
    fn any_authorization_header_authenticates_or_is_refused_with_401(
        header in any::<String>(),
        token in "(Bearer )?[A-Za-z0-9_=-]{0,40}\\.[A-Za-z0-9_=-]{0,80}\\.[A-Za-z0-9_=-]{0,60}",
    ) {
        let config = AuthConfig::new(SECRET, "", "").unwrap();
        for value in [header.as_str(), token.as_str()] {
            if let Err(error) = verify(value, &config, 1_800_000_000) {
                prop_assert_eq!(error.status(), 401);
            }
        }
    }
}
