//! The HTTP glue every component shares: routing on spin-sdk's `Router`, the order of checks
//! (route → method → authentication → the handler's own checks), the request id, the error
//! envelope, logging, and the one-time migration retry.
//!
//! A component only declares its routes; handlers receive an [`ApiRequest`] and return a
//! [`Reply`] or an [`ApiError`]. Nothing here panics on any input.

use serde::de::DeserializeOwned;
use spin_sdk::http::{Method, Params, Request, Response, Router};

use crate::auth::{authenticate, AuthConfig, Caller};
use crate::db::{Database, DbError, SpinDatabase};
use crate::error::ApiError;
use crate::ids::{MessageId, RoomId, UserId};
use crate::migrations;
use crate::request::{self, Query};
use crate::response::{error_response, Reply};

/// An authenticated API request with its open database connection.
pub struct ApiRequest<'a> {
    pub request: &'a Request,
    params: &'a Params,
    pub caller: &'a Caller,
    pub db: &'a dyn Database,
    pub auth: &'a AuthConfig,
}

impl ApiRequest<'_> {
    /// A path parameter parsed by `parse` (e.g. `RoomId::parse_param`), reported under `field`.
    pub fn path_param<T>(&self, name: &str, parse: fn(&str, &str) -> Result<T, ApiError>) -> Result<T, ApiError> {
        parse(self.params.get(name).unwrap_or_default(), name)
    }

    /// The room of a `/api/rooms/:id...` route.
    pub fn room_id(&self) -> Result<RoomId, ApiError> {
        self.path_param("id", RoomId::parse_param)
    }

    /// The user of a `.../:userId` route.
    pub fn user_id(&self) -> Result<UserId, ApiError> {
        self.path_param("userId", UserId::parse_param)
    }

    /// The message of a `.../messages/:messageId` route.
    pub fn message_id(&self) -> Result<MessageId, ApiError> {
        self.path_param("messageId", MessageId::parse_param)
    }

    pub fn query(&self) -> Query {
        Query::from_request(self.request)
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        request::json_body(self.request)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        request::header(self.request, name)
    }
}

pub type ApiHandler = fn(&ApiRequest) -> Result<Reply, ApiError>;
pub type PublicHandler = fn(&Request) -> Result<Reply, ApiError>;

/// What serves one method of a route.
#[derive(Clone, Copy)]
pub enum Endpoint {
    /// Needs a valid bearer token and gets a database connection.
    Authenticated(ApiHandler),
    /// Open to anyone (`/health`, `/ready`, the OpenAPI document).
    Public(PublicHandler),
}

/// A component's routing table.
pub struct Routes {
    router: Router,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Routes { router: Router::new() }
    }

    /// Serves `path` with one endpoint per method; any other method answers 405 with `Allow`.
    pub fn route(mut self, path: &str, endpoints: &[(Method, Endpoint)]) -> Self {
        for (method, endpoint) in endpoints {
            let endpoint = *endpoint;
            self.router
                .add(path, method.clone(), move |request: Request, params: Params| serve(&request, &params, endpoint));
        }
        let allow = endpoints.iter().map(|(method, _)| method.to_string()).collect::<Vec<_>>().join(", ");
        self.router.any(path, move |request: Request, _: Params| {
            respond(&request, || Err(ApiError::MethodNotAllowed { allow: allow.clone() }))
        });
        self
    }

    /// Answers every request: paths no route matches get the 404 envelope.
    pub fn handle(mut self, request: Request) -> Response {
        self.router.any("/*", |request: Request, _: Params| respond(&request, || Err(ApiError::NotFound)));
        self.router.handle(request)
    }
}

fn serve(request: &Request, params: &Params, endpoint: Endpoint) -> Response {
    respond(request, || match endpoint {
        Endpoint::Public(handler) => handler(request),
        Endpoint::Authenticated(handler) => {
            let auth = AuthConfig::from_spin_variables()?;
            let caller = authenticate(request::header(request, "authorization"), &auth)?;
            // Every route refuses an oversized body, including those that ignore their body.
            if request.body().len() > request::MAX_BODY_BYTES {
                return Err(ApiError::PayloadTooLarge);
            }
            let db = SpinDatabase::open_default()?;
            let api = ApiRequest { request, params, caller: &caller, db: &db, auth: &auth };
            with_current_schema(&db, || handler(&api))
        }
    })
}

/// Runs `work`; when it meets a missing table or column, migrates the store and runs it once more.
/// This is how a fresh `spin up` gets its schema without a manual step (see [`migrations`]).
pub fn with_current_schema(db: &dyn Database, work: impl Fn() -> Result<Reply, ApiError>) -> Result<Reply, ApiError> {
    match work() {
        Err(ApiError::Database(DbError::SchemaOutdated(detail))) => {
            crate::log_line!("schema out of date ({detail}); applying migrations");
            migrations::ensure_current(db)?;
            work()
        }
        other => other,
    }
}

/// Applies the request id and the envelope, and logs server errors with their detail.
pub fn respond(request: &Request, work: impl FnOnce() -> Result<Reply, ApiError>) -> Response {
    let request_id = request::request_id(request);
    match work() {
        Ok(reply) => reply.into_response(&request_id),
        Err(error) => {
            if error.is_server_error() {
                crate::log_line!(
                    "request_id={request_id} method={} path={} status={} error={error}",
                    request.method(),
                    request.path(),
                    error.status()
                );
            }
            error_response(&error, &request_id)
        }
    }
}

/// `GET` served by an authenticated handler.
pub fn get(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Get, Endpoint::Authenticated(handler))
}

/// `POST` served by an authenticated handler.
pub fn post(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Post, Endpoint::Authenticated(handler))
}

/// `PUT` served by an authenticated handler.
pub fn put(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Put, Endpoint::Authenticated(handler))
}

/// `DELETE` served by an authenticated handler.
pub fn delete(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Delete, Endpoint::Authenticated(handler))
}

/// `GET` open to anyone.
pub fn public_get(handler: PublicHandler) -> (Method, Endpoint) {
    (Method::Get, Endpoint::Public(handler))
}
