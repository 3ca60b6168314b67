//! Shared by the benchmark commands (`loadtest`, `seed`, `baseline`): an HTTP/1.1 client with
//! keep-alive, development tokens, and percentile tables from HDR histograms.

pub mod report;
pub mod scenario;
pub mod seeded;
pub mod setup;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// The secret `spin up` reads (`SPIN_VARIABLE_JWT_SECRET`), for minting tokens.
pub fn jwt_secret() -> anyhow::Result<String> {
    std::env::var("SPIN_VARIABLE_JWT_SECRET")
        .map_err(|_| anyhow::anyhow!("set SPIN_VARIABLE_JWT_SECRET to the app's jwt_secret"))
}

/// A bearer token for `user`, valid for a day.
pub fn token(secret: &str, user: &str, name: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let claims = json!({"sub": user, "name": name, "iat": now, "exp": now + 86_400});
    chat::auth::sign_hs256(&claims, secret.as_bytes())
}

/// What one request came back with. `status` 0: no answer (connection failed or timed out).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A pooled HTTP/1.1 client: connections are kept alive and reused, and opened as needed, so an
/// open-loop schedule is never throttled by a fixed number of connections.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Http {
    pub fn new(timeout: Duration) -> Http {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
        Http { client, timeout }
    }

    /// Sends one request; `body` is JSON when given.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let mut request = hyper::Request::builder().method(method).uri(url);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let payload = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let Ok(request) = request.body(Full::new(payload)) else {
            return Answer { status: 0, body: Bytes::new() };
        };
        let exchange = async {
            let response = self.client.request(request).await.ok()?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.ok()?.to_bytes();
            Some(Answer { status, body })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Some(answer)) => answer,
            _ => Answer { status: 0, body: Bytes::new() },
        }
    }
}
