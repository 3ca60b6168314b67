//! WASIp2: spin-sdk's `#[http_component]` with the streaming `IncomingRequest`. The body is read
//! (bounded) from its stream only when the handler asks for it; a WASIp2 instance serves this one
//! request, so blocking on the stream blocks no other.

use spin_sdk::http::{IncomingRequest, Response};

use crate::body::BodySource;
use crate::http::Routes;
use crate::long_poll::{self, Attempt};
use crate::request::HttpRequest;
use crate::response::HttpResponse;

/// Exports `$routes()` (a `fn() -> Routes`) as the component's WASIp2 HTTP handler.
#[macro_export]
macro_rules! component {
    ($routes:path) => {
        #[::spin_sdk::http_component]
        fn handle(request: ::spin_sdk::http::IncomingRequest) -> ::spin_sdk::http::Response {
            $crate::serve::answer(&$routes(), request)
        }
    };
}

/// Answers Spin's request: the head now, the body only if the endpoint reads it. A held
/// long-poll sleeps between its passes in this instance, which serves no other request.
pub fn answer(routes: &Routes, request: IncomingRequest) -> Response {
    let target = request.path_with_query().unwrap_or_else(|| "/".to_owned());
    let headers = request.headers().entries();
    let request = HttpRequest::new(request.method(), &target, headers, Box::new(WasiBody::new(request)));
    loop {
        if let Attempt::Answered(response) = routes.answer(&request) {
            return into_spin_response(response);
        }
        loop {
            std::thread::sleep(request.attempts.pause());
            if long_poll::worth_another_pass(&request.attempts) {
                break;
            }
        }
    }
}

fn into_spin_response(response: HttpResponse) -> Response {
    let mut builder = Response::builder();
    builder.status(response.status);
    for (name, value) in response.headers {
        builder.header(name, value);
    }
    if response.body.is_empty() {
        builder.build()
    } else {
        builder.body(response.body).build()
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
