//! Opaque message cursors. A cursor names a position in one room's history (a message's store
//! sequence), sealed with AES-SIV (RFC 5297, deterministic authenticated encryption) with the
//! room as associated data. So a cursor reveals nothing but itself: not the position, not how
//! many messages any room got between two cursors; the same position always gives the same
//! cursor (ETags stay stable); and a malformed, altered or foreign cursor (another room, another
//! secret) fails to open and is refused with 400 instead of being trusted.
//!
//! Change-feed tokens (`GET .../changes`) are sealed the same way with a second associated datum,
//! so a history cursor never opens as a token, nor a token as a cursor.
//!
//! The key is derived from `jwt_secret`: rotating the secret invalidates outstanding cursors.

use aes_siv::siv::Aes128Siv;
use aes_siv::KeyInit;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;
use crate::ids::RoomId;

type HmacSha256 = Hmac<Sha256>;

/// The format's version, the first byte of every cursor (version 1 carried the position in the
/// clear; its cursors are refused like any other that does not open).
const VERSION: u8 = 2;
/// Version byte, synthetic IV (the tag) and the 8-byte position.
const CURSOR_BYTES: usize = 1 + 16 + 8;

/// Issues and opens cursors with a key derived from the app's secret.
#[derive(Clone)]
pub struct CursorCodec {
    key: [u8; 32],
}

impl CursorCodec {
    pub fn new(secret: &[u8]) -> CursorCodec {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"chat-rooms message cursor v2");
        CursorCodec { key: mac.finalize().into_bytes().into() }
    }

    fn cipher(&self) -> Aes128Siv {
        Aes128Siv::new(&self.key.into())
    }

    /// The cursor of position `seq` in `room`.
    pub fn encode(&self, room: RoomId, seq: i64) -> String {
        self.seal(room, Position::History, seq)
    }

    /// The position a cursor names; 400 `VALIDATION_ERROR` on `field` unless this API issued it
    /// for `room`.
    pub fn decode(&self, room: RoomId, cursor: &str, field: &str) -> Result<i64, ApiError> {
        self.open(room, Position::History, cursor)
            .ok_or_else(|| ApiError::invalid(field, "is not a cursor issued for this room"))
    }

    /// The change-feed token of change position `change_seq` in `room`.
    pub fn encode_token(&self, room: RoomId, change_seq: i64) -> String {
        self.seal(room, Position::Change, change_seq)
    }

    /// The change position a token names; 400 `VALIDATION_ERROR` on `field` unless this API issued
    /// it as a token for `room`.
    pub fn decode_token(&self, room: RoomId, token: &str, field: &str) -> Result<i64, ApiError> {
        self.open(room, Position::Change, token)
            .ok_or_else(|| ApiError::invalid(field, "is not a token issued for this room"))
    }

    fn seal(&self, room: RoomId, kind: Position, position: i64) -> String {
        let sealed = self.cipher().encrypt(kind.associated_data(&room).as_slice(), &position.to_be_bytes());
        let mut bytes = Vec::with_capacity(CURSOR_BYTES);
        bytes.push(VERSION);
        // Sealing 8 bytes cannot fail (SIV refuses only more than 126 associated data items).
        bytes.extend_from_slice(&sealed.unwrap_or_default());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn open(&self, room: RoomId, kind: Position, sealed: &str) -> Option<i64> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() != CURSOR_BYTES || bytes[0] != VERSION {
            return None;
        }
        let position = self.cipher().decrypt(kind.associated_data(&room).as_slice(), &bytes[1..]).ok()?;
        Some(i64::from_be_bytes(position.try_into().ok()?))
    }
}

/// What a sealed position counts: messages in history order, or a room's changes.
#[derive(Clone, Copy)]
enum Position {
    History,
    Change,
}

impl Position {
    /// The room, and for a token a second item (history cursors keep the room alone, as before
    /// tokens existed, so cursors issued then still open).
    fn associated_data(self, room: &RoomId) -> Vec<&[u8]> {
        match self {
            Position::History => vec![room.0.as_bytes()],
            Position::Change => vec![room.0.as_bytes(), b"changes"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_anything_else() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let room = RoomId::new_random();
        let cursor = codec.encode(room, 42);
        assert_eq!(codec.decode(room, &cursor, "before").unwrap(), 42);
        assert_eq!(codec.encode(room, 42), cursor, "stable");
        assert!(codec.decode(RoomId::new_random(), &cursor, "before").is_err(), "another room");
        let other_key = CursorCodec::new(b"another-secret-another-secret-xx");
        assert!(other_key.decode(room, &cursor, "before").is_err());
        for byte in 0..CURSOR_BYTES {
            let mut tampered = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
            tampered[byte] ^= 1;
            assert!(codec.decode(room, &URL_SAFE_NO_PAD.encode(tampered), "before").is_err(), "byte {byte}");
        }
        for garbage in ["", "abc", "!!!!", &"A".repeat(400)] {
            let error = codec.decode(room, garbage, "after").unwrap_err();
            assert_eq!(error, ApiError::invalid("after", "is not a cursor issued for this room"));
        }
    }

    #[test]
    fn a_cursor_does_not_show_its_position() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let room = RoomId::new_random();
        let (one, two) = (codec.encode(room, 1), codec.encode(room, 2));
        let (one, two) = (URL_SAFE_NO_PAD.decode(one).unwrap(), URL_SAFE_NO_PAD.decode(two).unwrap());
        let differing = one.iter().zip(&two).filter(|(a, b)| a != b).count();
        assert!(differing > CURSOR_BYTES / 2, "neighbouring positions share {} bytes", CURSOR_BYTES - differing);
        assert!(!one.windows(8).any(|w| w == 1i64.to_be_bytes()), "the position is not in the clear");
    }

    #[test]
    fn the_same_position_in_two_rooms_gives_two_cursors() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        assert_ne!(codec.encode(RoomId::new_random(), 7), codec.encode(RoomId::new_random(), 7));
    }

    #[test]
    fn a_version_one_cursor_is_refused() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let mut old = vec![1u8];
        old.extend_from_slice(&42i64.to_be_bytes());
        old.extend_from_slice(&[0u8; 16]);
        assert!(codec.decode(RoomId::new_random(), &URL_SAFE_NO_PAD.encode(old), "after").is_err());
    }

    #[test]
    fn a_token_is_not_a_cursor_nor_a_cursor_a_token() {
        let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let room = RoomId::new_random();
        let token = codec.encode_token(room, 9);
        assert_eq!(codec.decode_token(room, &token, "since").unwrap(), 9);
        assert!(codec.decode(room, &token, "after").is_err());
        assert!(codec.decode_token(room, &codec.encode(room, 9), "since").is_err());
        assert!(codec.decode_token(RoomId::new_random(), &token, "since").is_err());
    }
}
