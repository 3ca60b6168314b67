//! Reactions (contract v1.2): the emoji of a `.../reactions/:emoji` path.

use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// Distinct emoji a message may hold.
pub const MAX_DISTINCT_EMOJI: i64 = 20;

const EMOJI_MAX_BYTES: usize = 64;

/// A reaction's emoji: the path segment percent-decoded as UTF-8, 1-64 bytes, without whitespace
/// or control characters. Stored and compared as given (no normalization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emoji(String);

impl Emoji {
    pub fn parse(segment: &str) -> Result<Emoji, ApiError> {
        let refuse =
            || ApiError::invalid("emoji", "must be 1 to 64 bytes of UTF-8 without whitespace or control characters");
        let decoded = percent_decode_str(segment).decode_utf8().map_err(|_| refuse())?;
        let valid = (1..=EMOJI_MAX_BYTES).contains(&decoded.len())
            && !decoded.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Emoji(decoded.into_owned()))
        } else {
            Err(refuse())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emoji_is_percent_decoded_utf8() {
        assert_eq!(Emoji::parse("%F0%9F%91%8D").unwrap().as_str(), "👍");
        assert_eq!(Emoji::parse("👍").unwrap().as_str(), "👍");
        assert_eq!(Emoji::parse("%2B1").unwrap().as_str(), "+1");
        assert_eq!(Emoji::parse(":tada:").unwrap().as_str(), ":tada:");
    }

    #[test]
    fn an_emoji_is_kept_as_given() {
        // U+00E9 and e + U+0301 are two emoji here: no normalization.
        assert_ne!(Emoji::parse("%C3%A9").unwrap(), Emoji::parse("e%CC%81").unwrap());
    }

    #[test]
    fn an_emoji_is_1_to_64_bytes() {
        assert!(Emoji::parse("").is_err());
        assert!(Emoji::parse(&"a".repeat(64)).is_ok());
        assert!(Emoji::parse(&"a".repeat(65)).is_err());
        assert!(Emoji::parse(&"%F0%9F%91%8D".repeat(16)).is_ok(), "16 × 4 bytes");
        assert!(Emoji::parse(&"%F0%9F%91%8D".repeat(17)).is_err());
    }

    #[test]
    fn whitespace_control_characters_and_bad_utf8_are_refused() {
        for segment in ["a%20b", "%09", "%00", "%C2%85", "%E3%80%80", "%FF", "%C3", "a%0Ab"] {
            assert!(Emoji::parse(segment).is_err(), "{segment}");
        }
    }
}
