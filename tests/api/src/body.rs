//! Request bodies made as they are sent, for the body-limit tests: a large body in chunks, or one
//! that never comes, counting how much of it the server took.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// A request body: bytes in memory, or generated as the transport asks for them.
pub enum RequestBody {
    Bytes(Bytes),
    Generated(GeneratedBody),
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            RequestBody::Bytes(bytes) if bytes.is_empty() => Poll::Ready(None),
            RequestBody::Bytes(bytes) => Poll::Ready(Some(Ok(Frame::data(std::mem::take(bytes))))),
            RequestBody::Generated(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Bytes(bytes) => SizeHint::with_exact(bytes.len() as u64),
            // Unknown: sent with `Transfer-Encoding: chunked` unless a `Content-Length` is set.
            RequestBody::Generated(_) => SizeHint::default(),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, RequestBody::Bytes(bytes) if bytes.is_empty())
    }
}

const CHUNK: usize = 16 * 1024;

/// A body sent in chunks of 16 KiB: `total` bytes of one value, given bytes, or (`stalled`) none
/// at all and no end.
pub struct GeneratedBody {
    source: Bytes,
    /// Whether `source` is one chunk sent again and again, rather than the content itself.
    repeats: bool,
    sent: usize,
    remaining: usize,
    stalled: bool,
    taken: Arc<AtomicUsize>,
}

impl GeneratedBody {
    pub fn repeated(fill: u8, total: usize, taken: Arc<AtomicUsize>) -> GeneratedBody {
        let source = Bytes::from(vec![fill; CHUNK]);
        GeneratedBody { source, repeats: true, sent: 0, remaining: total, stalled: false, taken }
    }

    pub fn of(content: Bytes, taken: Arc<AtomicUsize>) -> GeneratedBody {
        let remaining = content.len();
        GeneratedBody { source: content, repeats: false, sent: 0, remaining, stalled: false, taken }
    }

    pub fn stalled(taken: Arc<AtomicUsize>) -> GeneratedBody {
        GeneratedBody { source: Bytes::new(), repeats: true, sent: 0, remaining: 0, stalled: true, taken }
    }
}

impl Body for GeneratedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.stalled {
            return Poll::Pending;
        }
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let size = CHUNK.min(self.remaining);
        let start = if self.repeats { 0 } else { self.sent };
        let chunk = self.source.slice(start..start + size);
        self.sent += size;
        self.remaining -= size;
        self.taken.fetch_add(size, Ordering::Relaxed);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}
