//! Request bodies, read lazily and never past the limit (contract v1.2): a `Content-Length` over
//! 64 KiB is refused unread, a body without one is read to at most 64 KiB + 1 byte, and a route
//! that takes no body never reads it (nothing calls [`read_bounded`] for it).

use crate::error::ApiError;

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Where a body's bytes come from: Spin's incoming body stream ([`WasiBody`]), or bytes in tests.
pub trait BodySource {
    /// The next chunk of at most `max` bytes; `None` at the end of the body. A chunk may be empty.
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<u8>>, String>;
}

/// The whole body, if it is at most `limit` bytes: 413 `PAYLOAD_TOO_LARGE` when the declared
/// length is over `limit` (nothing is read) or when more than `limit` bytes arrive (reading stops
/// at `limit + 1`).
pub fn read_bounded(
    source: &mut dyn BodySource,
    declared_length: Option<u64>,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let mut body = BoundedBody::start(declared_length, limit)?;
    while let Some(chunk) = source.next_chunk(body.wanted()).map_err(ApiError::UnreadableBody)? {
        body.push(&chunk)?;
    }
    Ok(body.finish())
}

/// A body being read under the limit: the rules of [`read_bounded`], for a reader that gets its
/// chunks some other way (the WASIp3 glue awaits them).
pub struct BoundedBody {
    limit: usize,
    bytes: Vec<u8>,
}

impl BoundedBody {
    /// 413 at once, before anything is read, when the declared length is over `limit`.
    pub fn start(declared_length: Option<u64>, limit: usize) -> Result<BoundedBody, ApiError> {
        if declared_length.is_some_and(|length| length > limit as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        Ok(BoundedBody { limit, bytes: Vec::new() })
    }

    /// The most bytes worth asking for next: up to one past the limit, which is enough to refuse.
    pub fn wanted(&self) -> usize {
        self.limit + 1 - self.bytes.len().min(self.limit)
    }

    /// Takes the next chunk; 413 once the body is past the limit (the caller stops reading).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        self.bytes.extend_from_slice(&chunk[..chunk.len().min(self.wanted())]);
        if self.bytes.len() > self.limit {
            return Err(ApiError::PayloadTooLarge);
        }
        Ok(())
    }

    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// A body already in memory.
impl BodySource for std::collections::VecDeque<Vec<u8>> {
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<u8>>, String> {
        let Some(mut chunk) = self.pop_front() else { return Ok(None) };
        if chunk.len() > max {
            self.push_front(chunk.split_off(max));
        }
        Ok(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A body that never ends, sent in chunks of at most `chunk` bytes, counting what was taken.
    struct Endless {
        chunk: usize,
        taken: usize,
    }

    impl BodySource for Endless {
        fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<u8>>, String> {
            let size = self.chunk.min(max);
            self.taken += size;
            Ok(Some(vec![b'x'; size]))
        }
    }

    fn chunks(parts: &[&str]) -> VecDeque<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_body_within_the_limit_is_read_whole_across_chunks() {
        assert_eq!(read_bounded(&mut chunks(&["{\"a\"", "", ":1}"]), None, 16).unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn a_body_of_exactly_the_limit_is_accepted() {
        assert_eq!(read_bounded(&mut chunks(&["12345678"]), Some(8), 8).unwrap().len(), 8);
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_without_reading() {
        let mut source = Endless { chunk: 1024, taken: 0 };
        assert_eq!(read_bounded(&mut source, Some(65), 64), Err(ApiError::PayloadTooLarge));
        assert_eq!(source.taken, 0);
    }

    #[test]
    fn an_endless_body_is_read_to_the_limit_plus_one_byte_and_refused() {
        let mut source = Endless { chunk: 7, taken: 0 };
        assert_eq!(read_bounded(&mut source, None, MAX_BODY_BYTES), Err(ApiError::PayloadTooLarge));
        assert_eq!(source.taken, MAX_BODY_BYTES + 1);
    }

    #[test]
    fn a_body_longer_than_its_declared_length_is_still_bounded() {
        let mut source = Endless { chunk: 4096, taken: 0 };
        assert_eq!(read_bounded(&mut source, Some(10), 64), Err(ApiError::PayloadTooLarge));
        assert_eq!(source.taken, 65);
    }

    #[test]
    fn a_broken_stream_is_an_unreadable_body() {
        struct Broken;
        impl BodySource for Broken {
            fn next_chunk(&mut self, _: usize) -> Result<Option<Vec<u8>>, String> {
                Err("connection reset".into())
            }
        }
        assert_eq!(read_bounded(&mut Broken, None, 64).unwrap_err().code(), "INVALID_JSON");
    }
}
