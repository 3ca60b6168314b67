//! A native baseline for the newest-page read: the app's own code (`chat`: authentication, the
//! repository's SQL, the JSON envelope and ETag) served by a plain native HTTP server over the
//! same SQLite file, with a fresh connection per request as Spin opens one. Comparing its
//! throughput with `spin up`'s shows what the WebAssembly host costs.
//!
//! ```text
//! SPIN_VARIABLE_JWT_SECRET=... cargo run --release -p bench --bin baseline -- \
//!     --file .spin/sqlite_db.db --listen 127.0.0.1:3430
//! ```
//! Serves `GET /api/rooms/:id/messages[?limit=N]` (the newest page) and `GET /health`; nothing else.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bench::jwt_secret;
use bytes::Bytes;
use chat::auth::{authenticate, AuthConfig};
use chat::cursor::CursorCodec;
use chat::db::native::NativeDatabase;
use chat::history::MessagePageRequest;
use chat::ids::RoomId;
use chat::repositories::history::HistoryRepository;
use chat::response::{error_response, CursorPagination, Reply};
use chat::ApiError;
use clap::Parser;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    file: String,
    #[arg(long, default_value = "127.0.0.1:3430")]
    listen: SocketAddr,
}

struct Server {
    file: String,
    auth: AuthConfig,
}

impl Server {
    /// The newest page of a room, as `components/messages` answers it.
    fn newest_page(&self, path: &str, query: &str, authorization: Option<&str>) -> Result<Reply, ApiError> {
        let caller = authenticate(authorization, &self.auth)?;
        let room = path
            .strip_prefix("/api/rooms/")
            .and_then(|rest| rest.strip_suffix("/messages"))
            .and_then(RoomId::parse)
            .ok_or(ApiError::NotFound)?;
        let limit = form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "limit")
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(50u32)
            .clamp(1, 100);
        let db = NativeDatabase::open(std::path::Path::new(&self.file))?;
        let page =
            HistoryRepository::new(&db).read_page(room, caller.user_id, &MessagePageRequest::newest(limit))??;
        let cursors = CursorCodec::new(self.auth.secret());
        let pagination = CursorPagination {
            limit,
            has_more: page.has_more,
            prev_cursor: page.messages.first().filter(|_| page.has_older).map(|m| cursors.encode(room, m.seq)),
            next_cursor: page.messages.last().map(|m| cursors.encode(room, m.seq)),
        };
        Ok(Reply::list(page.messages, pagination).with_etag(None))
    }

    fn answer(&self, request: &hyper::Request<hyper::body::Incoming>) -> hyper::Response<Full<Bytes>> {
        let path = request.uri().path();
        let response = if path == "/health" {
            Reply::ok(serde_json::json!({"status": "ok"})).into_response("baseline")
        } else {
            let authorization = request.headers().get("authorization").and_then(|v| v.to_str().ok());
            match self.newest_page(path, request.uri().query().unwrap_or(""), authorization) {
                Ok(reply) => reply.into_response("baseline"),
                Err(error) => error_response(&error, "baseline"),
            }
        };
        let mut answer = hyper::Response::builder().status(response.status);
        for (name, value) in &response.headers {
            answer = answer.header(name, value);
        }
        answer.body(Full::new(Bytes::from(response.body))).unwrap_or_default()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = Arc::new(Server {
        file: args.file,
        auth: AuthConfig::new(&jwt_secret()?, "", "").map_err(|e| anyhow::anyhow!("{e}"))?,
    });
    let listener = TcpListener::bind(args.listen).await?;
    println!("baseline on http://{}", args.listen);
    loop {
        let (stream, _) = listener.accept().await?;
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let server = server.clone();
                async move {
                    let answer = tokio::task::spawn_blocking(move || server.answer(&request)).await;
                    Ok::<_, Infallible>(answer.unwrap_or_default())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
