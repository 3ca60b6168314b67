//! The HTTP glue every component shares: routing, the order of checks (route → method →
//! authentication → the handler's own checks, then the store), the request id, the error
//! envelope, logging, and the one-time migration retry.
//!
//! A component only declares its routes; handlers receive an [`ApiRequest`] and return a
//! [`Reply`] or an [`ApiError`]. Nothing here panics on any input.

use std::cell::OnceCell;

use serde::de::DeserializeOwned;
use spin_sdk::http::{IncomingRequest, Method, Params, Response};

use crate::auth::{authenticate, AuthConfig, Caller};
use crate::db::{Database, DbError, SpinDatabase};
use crate::error::ApiError;
use crate::ids::{MessageId, RoomId, UserId};
use crate::migrations;
use crate::request::{HttpRequest, Query};
use crate::response::{error_response, Reply};

/// An authenticated API request. The database is opened on the first [`ApiRequest::db`], so a
/// handler that checks its path ids, query and body first touches no store for a malformed
/// request (the contract's order of checks).
pub struct ApiRequest<'a> {
    pub request: &'a HttpRequest,
    params: &'a Params,
    pub caller: &'a Caller,
    pub auth: &'a AuthConfig,
    db: OnceCell<SpinDatabase>,
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

    /// The JSON body: read now (once, at most 64 KiB), by the contract's body rules.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.request.json()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.header(name)
    }

    /// The `default` database, opened on first use.
    pub fn db(&self) -> Result<&dyn Database, ApiError> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let db = SpinDatabase::open_default()?;
        Ok(self.db.get_or_init(|| db))
    }
}

pub type ApiHandler = fn(&ApiRequest) -> Result<Reply, ApiError>;
pub type PublicHandler = fn(&HttpRequest) -> Result<Reply, ApiError>;

/// What serves one method of a route.
#[derive(Clone, Copy)]
pub enum Endpoint {
    /// Needs a valid bearer token; may open the database.
    Authenticated(ApiHandler),
    /// Open to anyone (`/health`, `/ready`, the OpenAPI document).
    Public(PublicHandler),
}

/// One route: its endpoints by method, and the `Allow` header of its 405.
struct Route {
    endpoints: Vec<(Method, Endpoint)>,
    allow: String,
}

/// A component's routing table (routefinder, as spin-sdk's `Router` uses).
#[derive(Default)]
pub struct Routes {
    router: routefinder::Router<usize>,
    routes: Vec<Route>,
}

impl Routes {
    pub fn new() -> Self {
        Routes::default()
    }

    /// Serves `path` with one endpoint per method; any other method answers 405 with `Allow`.
    pub fn route(mut self, path: &str, endpoints: &[(Method, Endpoint)]) -> Self {
        let allow = endpoints.iter().map(|(method, _)| method.to_string()).collect::<Vec<_>>().join(", ");
        // The paths are the component's own literals: a bad one fails every test at once.
        if let Err(error) = self.router.add(path, self.routes.len()) {
            crate::log_line!("route {path} is not a valid route: {error}");
        }
        self.routes.push(Route { endpoints: endpoints.to_vec(), allow });
        self
    }

    /// Answers Spin's request: its body is read only if the endpoint asks for it.
    pub fn handle(self, request: IncomingRequest) -> Response {
        self.answer(&HttpRequest::from_incoming(request))
    }

    /// Answers every request: paths no route matches get the 404 envelope.
    pub fn answer(&self, request: &HttpRequest) -> Response {
        let Some(found) = self.router.best_match(request.path()) else {
            return respond(request, || Err(ApiError::NotFound));
        };
        let route = &self.routes[*found.handler()];
        match route.endpoints.iter().find(|(method, _)| method == request.method()) {
            Some((_, endpoint)) => serve(request, &found.captures().into_owned(), *endpoint),
            None => respond(request, || Err(ApiError::MethodNotAllowed { allow: route.allow.clone() })),
        }
    }
}

fn serve(request: &HttpRequest, params: &Params, endpoint: Endpoint) -> Response {
    respond(request, || match endpoint {
        Endpoint::Public(handler) => handler(request),
        Endpoint::Authenticated(handler) => {
            let auth = AuthConfig::from_spin_variables()?;
            let caller = authenticate(request.header("authorization"), &auth)?;
            let api = ApiRequest { request, params, caller: &caller, auth: &auth, db: OnceCell::new() };
            with_current_schema(&api, handler)
        }
    })
}

/// Runs `handler`; when it meets a missing table or column, migrates the store and runs it once
/// more (the body, already read, is kept). This is how a fresh `spin up` gets its schema without
/// a manual step (see [`migrations`]).
fn with_current_schema(api: &ApiRequest, handler: ApiHandler) -> Result<Reply, ApiError> {
    match handler(api) {
        Err(ApiError::Database(DbError::SchemaOutdated(detail))) => {
            crate::log_line!("schema out of date ({detail}); applying migrations");
            migrations::ensure_current(api.db()?)?;
            handler(api)
        }
        other => other,
    }
}

/// Applies the request id and the envelope, and logs server errors with their detail.
pub fn respond(request: &HttpRequest, work: impl FnOnce() -> Result<Reply, ApiError>) -> Response {
    let request_id = request.request_id();
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
