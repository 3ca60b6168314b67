//! WASIp3: spin-sdk's `#[http_service]` (`wasi:http/handler@0.3.0-rc-2026-01-06`), for Spin 3.6.x.
//!
//! A WASIp3 instance serves many requests at once, interleaved at their `await`s, and a
//! `spin:sqlite` call blocks the whole instance while it runs. So the only awaits are before and
//! after the store work: the body is read first (bounded, only for an endpoint that reads one,
//! its refusal kept for the handler to meet in the contract's order of checks), then
//! [`Routes::answer`] runs synchronously from routing to the log line, then the answer is
//! written. No request's statement can run inside another's transaction.
//!
//! The instance's turn. Spin's HTTP server does not set `TCP_NODELAY`. An answer whose head
//! leaves before its body is ready goes out as two segments, and Nagle's algorithm holds the
//! second until the client acknowledges the first, which a client delays by up to 40 ms. A
//! WASIp3 answer's body is copied out of the instance after the handler returns, so when another
//! request's store call (which blocks the instance) runs first, the head leaves alone: p99 of
//! ~44 ms on every route that touches the store, at 16 requests per instance. So a request takes
//! the instance's turn before its store work and gives it back once its body has been handed
//! over: the next request's store work waits (asynchronously) for the body, not the reverse.
//! The turn only orders work; store work is safe without it (it never awaits). So a request
//! waits for it at most [`TURN_WAIT_NS`], and a client slow to take its body cannot hold up the
//! instance longer than that. Giving the turn back wakes another request's task, which
//! wit-bindgen supports only with its `inter-task-wakeup` feature (enabled in Cargo.toml; without
//! it, waking a sleeping task panics).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::{select, Either};
use futures::lock::{Mutex, OwnedMutexGuard};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use spin_sdk::http::Method;
use spin_sdk::http_wasip3::wasip3::clocks::monotonic_clock;
use spin_sdk::http_wasip3::Request;

use crate::body::{BoundedBody, MAX_BODY_BYTES};
use crate::error::ApiError;
use crate::http::Routes;
use crate::long_poll::Attempt;
use crate::request::HttpRequest;
use crate::response::HttpResponse;

/// Exports `$routes()` (a `fn() -> Routes`) as the component's WASIp3 HTTP handler.
#[macro_export]
macro_rules! component {
    ($routes:path) => {
        #[::spin_sdk::http_wasip3::http_service]
        async fn handle(request: ::spin_sdk::http_wasip3::Request) -> impl ::spin_sdk::http_wasip3::IntoResponse {
            $crate::serve::answer(&$routes(), request).await
        }
    };
}

thread_local! {
    static TURN: Arc<Mutex<()>> = Arc::new(Mutex::new(()));
}

/// The longest a request waits for the instance's turn (20 ms) before going on without it.
const TURN_WAIT_NS: u64 = 20_000_000;

async fn take_turn() -> Option<OwnedMutexGuard<()>> {
    let turn = TURN.with(Arc::clone);
    if let Some(free) = turn.try_lock_owned() {
        return Some(free);
    }
    let turn = turn.lock_owned();
    // The timer runs to its end in a task of its own: dropping a pending `wait_for` (a host
    // subtask) made Spin 3.6.3's worker fail with "resource is of another type" under
    // long-polls, killing the instance's requests (bare 500s); never cancelling one avoids it.
    let (expired, expiry) = futures::channel::oneshot::channel::<()>();
    wit_bindgen::spawn(async move {
        monotonic_clock::wait_for(TURN_WAIT_NS).await;
        let _ = expired.send(());
    });
    match select(turn, expiry).await {
        Either::Left((turn, _)) => Some(turn),
        Either::Right(_) => None,
    }
}

/// Answers Spin's request: reads the body if the endpoint reads one, then answers in the
/// instance's turn (see the module).
pub async fn answer(routes: &Routes, request: Request) -> http::Response<AnswerBody> {
    let (head, body) = request.into_parts();
    let target = head.uri.path_and_query().map_or("/", |target| target.as_str());
    let headers =
        head.headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    let request =
        HttpRequest::new(spin_method(&head.method), target, headers, Box::new(std::collections::VecDeque::new()));
    if routes.endpoint(request.method(), request.path()).is_some_and(|endpoint| endpoint.reads_body()) {
        request.set_body_read(read_bounded(body, request.declared_length()).await);
    }
    let mut turn = take_turn().await;
    loop {
        if let Attempt::Answered(response) = routes.answer(&request) {
            return into_http_response(response, turn);
        }
        // A held long-poll waits without the turn, on the instance's ticker: the instance serves
        // its other requests meanwhile.
        drop(turn);
        super::ticker::until_worth_another_pass(&request.attempts).await;
        turn = take_turn().await;
    }
}

/// [`crate::body::read_bounded`]'s rules over the request's body stream.
async fn read_bounded<B>(body: B, declared_length: Option<u64>) -> Result<Vec<u8>, ApiError>
where
    B: http_body::Body + Unpin,
    B::Data: AsRef<[u8]>,
    B::Error: std::fmt::Display,
{
    let mut body = body;
    let mut bounded = BoundedBody::start(declared_length, MAX_BODY_BYTES)?;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| ApiError::UnreadableBody(error.to_string()))?;
        if let Ok(chunk) = frame.into_data() {
            bounded.push(chunk.as_ref())?;
        }
    }
    Ok(bounded.finish())
}

fn spin_method(method: &http::Method) -> Method {
    match *method {
        http::Method::GET => Method::Get,
        http::Method::HEAD => Method::Head,
        http::Method::POST => Method::Post,
        http::Method::PUT => Method::Put,
        http::Method::DELETE => Method::Delete,
        http::Method::CONNECT => Method::Connect,
        http::Method::OPTIONS => Method::Options,
        http::Method::TRACE => Method::Trace,
        http::Method::PATCH => Method::Patch,
        ref other => Method::Other(other.as_str().to_owned()),
    }
}

fn into_http_response(response: HttpResponse, turn: Option<OwnedMutexGuard<()>>) -> http::Response<AnswerBody> {
    let mut answer = http::Response::new(AnswerBody { data: Some(Bytes::from(response.body)), turn });
    *answer.status_mut() =
        http::StatusCode::from_u16(response.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        // The app's own header names and values; one that is not valid is dropped, not a panic.
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(name), http::HeaderValue::try_from(value)) {
            answer.headers_mut().append(name, value);
        }
    }
    answer
}

/// An answer's body, in one frame, holding the instance's turn until the frame is taken.
pub struct AnswerBody {
    data: Option<Bytes>,
    turn: Option<OwnedMutexGuard<()>>,
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.data.take() {
            Some(data) if !data.is_empty() => Poll::Ready(Some(Ok(Frame::data(data)))),
            _ => {
                // The last frame was written (or there was none): the next request may go on.
                self.turn = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.data.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |data| data.len() as u64))
    }
}
