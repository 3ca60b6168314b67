//! WASIp2: spin-sdk's `#[http_component]` with the streaming `IncomingRequest`. The body is read
//! (bounded) from its stream only when the handler asks for it; a WASIp2 instance serves this one
//! request, so blocking on the stream blocks no other.

use spin_sdk::http::{Headers, IncomingRequest, OutgoingResponse, ResponseOutparam};

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
        async fn handle(request: ::spin_sdk::http::IncomingRequest, out: ::spin_sdk::http::ResponseOutparam) {
            $crate::serve::answer(&$routes(), request, out).await
        }
    };
}

/// Answers Spin's request: the head now, the body only if the endpoint reads it. A held
/// long-poll sleeps between its passes in this instance, which serves no other request.
pub async fn answer(routes: &Routes, request: IncomingRequest, out: ResponseOutparam) {
    let target = request.path_with_query().unwrap_or_else(|| "/".to_owned());
    let headers = request.headers().entries();
    let request = HttpRequest::new(request.method(), &target, headers, Box::new(WasiBody::new(request)));
    let response = loop {
        if let Attempt::Answered(response) = routes.answer(&request) {
            break response;
        }
        loop {
            std::thread::sleep(request.attempts.pause());
            if long_poll::worth_another_pass(&request.attempts) {
                break;
            }
        }
    };
    write(response, out).await;
}

/// Hands the answer to Spin. A client that went away (a long-poll's, typically) cannot take it:
/// that is logged as such, not as an error (spin-sdk's own glue printed a bare line).
async fn write(response: HttpResponse, out: ResponseOutparam) {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        // The app's own header names and values; one Spin refuses is dropped, not a panic.
        let _ = headers.append(name, value.as_bytes());
    }
    let outgoing = OutgoingResponse::new(headers);
    let _ = outgoing.set_status_code(response.status);
    if let Err(error) = ResponseOutparam::set_with_body(out, outgoing, response.body).await {
        crate::log::info(&format!("the client went away before its answer was written ({error})"));
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
