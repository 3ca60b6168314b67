//! WASIp3: spin-sdk's `#[http_service]` (`wasi:http/handler@0.3.0-rc-2026-01-06`), for Spin 3.6.x.
//!
//! A WASIp3 instance serves many requests at once, interleaved at their `await`s, and a
//! `spin:sqlite` call blocks the whole instance while it runs. So the only awaits are before and
//! after the store work: the body is read first (bounded, only for an endpoint that reads one,
//! its refusal kept for the handler to meet in the contract's order of checks), then
//! [`Routes::answer`] runs synchronously from routing to the log line, then the answer is
//! written. No request's statement can run inside another's transaction.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use spin_sdk::http::Method;
use spin_sdk::http_wasip3::Request;

use crate::body::{BoundedBody, MAX_BODY_BYTES};
use crate::error::ApiError;
use crate::http::Routes;
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

/// Answers Spin's request: reads the body if the endpoint reads one, then answers.
pub async fn answer(routes: &Routes, request: Request) -> http::Response<Full<Bytes>> {
    let (head, body) = request.into_parts();
    let target = head.uri.path_and_query().map_or("/", |target| target.as_str());
    let headers =
        head.headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    let request = HttpRequest::new(spin_method(&head.method), target, headers, Box::new(std::collections::VecDeque::new()));
    if routes.endpoint(request.method(), request.path()).is_some_and(|endpoint| endpoint.reads_body()) {
        request.set_body_read(read_bounded(body, request.declared_length()).await);
    }
    into_http_response(routes.answer(&request))
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

fn into_http_response(response: HttpResponse) -> http::Response<Full<Bytes>> {
    let mut answer = http::Response::new(Full::new(Bytes::from(response.body)));
    *answer.status_mut() = http::StatusCode::from_u16(response.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        // The app's own header names and values; one that is not valid is dropped, not a panic.
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(name), http::HeaderValue::try_from(value)) {
            answer.headers_mut().append(name, value);
        }
    }
    answer
}
