//! Operational endpoints: `GET /health` (liveness), `GET /ready` (configuration valid, database
//! reachable and schema current; applies pending migrations, see `chat::migrations`),
//! `GET /api/openapi.json`, and the 404 envelope for every path no other component owns.

use chat::db::SpinDatabase;
use chat::http::{public_get, Routes};
use chat::request::HttpRequest;
use chat::{migrations, ApiError, Reply};
use serde_json::json;

/// The API's own OpenAPI document, served as is.
const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

chat::component!(routes);

fn routes() -> Routes {
    Routes::new(env!("CARGO_PKG_NAME"))
        .route("/health", &[public_get(health)])
        .route("/ready", &[public_get(ready)])
        .route("/api/openapi.json", &[public_get(openapi)])
}

fn health(_: &HttpRequest) -> Result<Reply, ApiError> {
    Ok(Reply::ok(json!({ "status": "ok" })))
}

fn ready(_: &HttpRequest) -> Result<Reply, ApiError> {
    chat::config::cors_policy()?;
    let not_ready = |error: chat::db::DbError| ApiError::NotReady(error.to_string());
    let db = SpinDatabase::instance().map_err(not_ready)?;
    let version = migrations::ensure_current(db.as_ref()).map_err(not_ready)?;
    Ok(Reply::ok(json!({ "status": "ready", "schemaVersion": version })))
}

fn openapi(_: &HttpRequest) -> Result<Reply, ApiError> {
    // docs/openapi.json as it is: tests/docs checks it is valid OpenAPI 3.1 JSON.
    Ok(Reply { status: 200, body: Some(OPENAPI_JSON.to_owned()), headers: Vec::new() })
}
