//! A plain HTTP/1.1 client for the real-Spin modes (hyper's connection API): it sends requests
//! exactly as the tests write them — odd paths, non-ASCII header bytes, bodies on any method —
//! which higher-level clients refuse or rewrite. One connection per request.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

const TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime"))
}

/// Sends `request` (its URI a path, `/api/rooms?x=1`) to `address` (`127.0.0.1:3000`).
/// Sends no `Host` header unless `request` has one.
pub(crate) fn send<B>(address: &str, request: http::Request<B>) -> Result<http::Response<Bytes>, String>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(address).await.map_err(|e| format!("connecting: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("answered {} but its body broke off: {e}", parts.status.as_u16()))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body))
    };
    runtime().block_on(async {
        tokio::time::timeout(TIMEOUT, exchange).await.unwrap_or_else(|_| Err(format!("no answer within {TIMEOUT:?}")))
    })
}

/// `POST`s a JSON document and answers the status and the parsed body.
pub(crate) fn post_json(
    address: &str,
    path: &str,
    body: &serde_json::Value,
) -> Result<(u16, serde_json::Value), String> {
    let request = http::Request::post(path)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    let response = send(address, request.map(Full::new))?;
    let value = serde_json::from_slice(response.body())
        .map_err(|e| format!("not JSON ({e}): {}", String::from_utf8_lossy(response.body())))?;
    Ok((response.status().as_u16(), value))
}

/// The status and body of `GET path`, or `None` when nothing answers.
pub(crate) fn get(address: &str, path: &str) -> Option<(u16, Bytes)> {
    let request = http::Request::get(path).header(http::header::HOST, address).body(Bytes::new()).ok()?;
    send(address, request.map(Full::new)).ok().map(|response| (response.status().as_u16(), response.into_body()))
}
