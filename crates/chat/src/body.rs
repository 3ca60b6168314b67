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
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = source.next_chunk(limit + 1 - body.len()).map_err(ApiError::UnreadableBody)? {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
    }
    Ok(body)
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

/// `wasi:http`'s incoming body as spin-sdk binds it (spin-sdk names it only in its bindings).
type IncomingBody = spin_sdk::wit::wasi::http0_2_0::types::IncomingBody;

/// The body of Spin's incoming request, opened on the first read. Its input stream is dropped
/// before the body it belongs to, and both before the request (WASI's resource order).
pub struct WasiBody {
    opened: Option<(wasi::io::streams::InputStream, IncomingBody)>,
    request: spin_sdk::http::IncomingRequest,
}

impl WasiBody {
    pub fn new(request: spin_sdk::http::IncomingRequest) -> WasiBody {
        WasiBody { opened: None, request }
    }
}

impl BodySource for WasiBody {
    fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<u8>>, String> {
        use wasi::io::streams::StreamError;
        if self.opened.is_none() {
            let body = self.request.consume().map_err(|()| "the request body was already taken".to_owned())?;
            let stream = body.stream().map_err(|()| "the request body stream was already taken".to_owned())?;
            self.opened = Some((stream, body));
        }
        let Some((stream, _)) = &self.opened else { return Ok(None) };
        match stream.blocking_read(max as u64) {
            Ok(chunk) => Ok(Some(chunk)),
            Err(StreamError::Closed) => Ok(None),
            Err(StreamError::LastOperationFailed(error)) => Err(error.to_debug_string()),
        }
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
