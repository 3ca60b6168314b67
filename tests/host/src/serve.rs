//! Serving an [`App`] over HTTP/1.1 on a TCP listener (the `serve` mode), as `spin up` would.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::App;

/// Serves `app` on `listener` until the task is dropped or accepting fails.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, client) = listener.accept().await?;
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let app = app.clone();
                async move { serve_one(&app, request, client).await }
            });
            if let Err(error) =
                http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await
            {
                eprintln!("connection from {client}: {error}");
            }
        });
    }
}

/// Answers one request; an `Err` closes the connection without an answer, as Spin does for
/// requests it gives none to ([`crate::NoAnswer`]).
async fn serve_one(
    app: &App,
    request: hyper::Request<hyper::body::Incoming>,
    client: SocketAddr,
) -> Result<hyper::Response<Full<Bytes>>, crate::NoAnswer> {
    match app.handle_streaming(request, &client.to_string()).await {
        Ok(response) => Ok(response.map(Full::new)),
        Err(error) => match error.downcast::<crate::NoAnswer>() {
            Ok(no_answer) => Err(no_answer),
            Err(error) => {
                eprintln!("host error: {error:#}");
                let mut response = hyper::Response::new(Full::new(Bytes::new()));
                *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                Ok(response)
            }
        },
    }
}
