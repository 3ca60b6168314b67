//! Opaque message cursors. A cursor names a position in one room's history (a message's store
//! sequence) and carries an HMAC over the room and the position, so a malformed, altered or
//! foreign cursor is recognised and refused with 400 instead of being trusted.
//!
//! The MAC key is derived from `jwt_secret`: rotating the secret invalidates outstanding cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;
use crate::ids::RoomId;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const MAC_BYTES: usize = 16;
const CURSOR_BYTES: usize = 1 + 8 + MAC_BYTES;

/// Issues and checks cursors with a key derived from the app's secret.
#[derive(Clone)]
pub struct CursorCodec {
    key: [u8; 32],
}

impl CursorCodec {
    pub fn new(secret: &[u8]) -> CursorCodec {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"chat-rooms message cursor v1");
        CursorCodec { key: mac.finalize().into_bytes().into() }
    }

    fn mac(&self, room: RoomId, seq: i64) -> [u8; MAC_BYTES] {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(room.0.as_bytes());
        mac.update(&seq.to_be_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }

    /// The cursor of position `seq` in `room`.
    pub fn encode(&self, room: RoomId, seq: i64) -> String {
        let mut bytes = Vec::with_capacity(CURSOR_BYTES);
        bytes.push(VERSION);
        bytes.extend_from_slice(&seq.to_be_bytes());
        bytes.extend_from_slice(&self.mac(room, seq));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position a cursor names; 400 `VALIDATION_ERROR` on `field` unless this API issued it
    /// for `room`.
    pub fn decode(&self, room: RoomId, cursor: &str, field: &str) -> Result<i64, ApiError> {
        let invalid = || ApiError::invalid(field, "is not a cursor issued for this room");
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if bytes.len() != CURSOR_BYTES || bytes[0] != VERSION {
            return Err(invalid());
        }
        let seq = i64::from_be_bytes(bytes[1..9].try_into().map_err(|_| invalid())?);
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(room.0.as_bytes());
        mac.update(&seq.to_be_bytes());
        mac.verify_truncated_left(&bytes[9..]).map_err(|_| invalid())?;
        Ok(seq)
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
        let mut tampered = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        tampered[8] ^= 1;
        assert!(codec.decode(room, &URL_SAFE_NO_PAD.encode(tampered), "before").is_err());
        for garbage in ["", "abc", "!!!!", &"A".repeat(400)] {
            let error = codec.decode(room, garbage, "after").unwrap_err();
            assert_eq!(error, ApiError::invalid("after", "is not a cursor issued for this room"));
        }
    }
}
