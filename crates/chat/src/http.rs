//! The HTTP glue every component shares: routing, the order of checks (route → method →
//! authentication → the handler's own checks, then the store), the request id, the error
//! envelope, the request's log line, and the one-time migration retry.
//!
//! A component only declares its routes; handlers receive an [`ApiRequest`] and return a
//! [`Reply`] or an [`ApiError`]. Everything here is synchronous: the flavor's glue
//! ([`crate::serve`]) reads a body before and writes the answer after, so a request's store
//! work never awaits. Nothing here panics on any input.

use std::cell::OnceCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use spin_sdk::http::{Method, Params};

use crate::auth::{authenticate, Caller};
use crate::browser::{self, Answer};
use crate::config::{self, AppConfig};
use crate::cursor::CursorCodec;
use crate::db::{Database, DbError, SpinDatabase};
use crate::error::ApiError;
use crate::ids::{MessageId, RoomId, UserId};
use crate::long_poll::{Attempt, Watch};
use crate::migrations;
use crate::reactions::Emoji;
use crate::request::{HttpRequest, Query};
use crate::response::{error_response, Reply};

/// An authenticated API request. The database is opened on the first [`ApiRequest::db`], so a
/// handler that checks its path ids, query and body first touches no store for a malformed
/// request (the contract's order of checks).
pub struct ApiRequest<'a> {
    pub request: &'a HttpRequest,
    params: &'a Params,
    pub caller: &'a Caller,
    config: &'a AppConfig,
    db: OnceCell<Rc<SpinDatabase>>,
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

    /// The emoji of a `.../reactions/:emoji` route.
    pub fn emoji(&self) -> Result<Emoji, ApiError> {
        self.path_param("emoji", |segment, _| Emoji::parse(segment))
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

    /// `reply`, or, when it says nothing new (`nothing_new`, or a 304 for the request's
    /// `If-None-Match`) and the watch's wait has time left, the request held: the glue passes
    /// again once the watched room's latest change moves past what the page saw, or the wait
    /// ends (see [`crate::long_poll`]).
    pub fn unless_nothing_new(&self, watch: Watch, nothing_new: bool, reply: Reply) -> Reply {
        if nothing_new || reply.status == 304 {
            self.request.attempts.hold(watch);
        }
        reply
    }

    /// Issues and opens this app's message cursors and change tokens.
    pub fn cursors(&self) -> &CursorCodec {
        &self.config.cursors
    }

    /// The `default` database: the instance's connection, opened on first use.
    pub fn db(&self) -> Result<&dyn Database, ApiError> {
        if let Some(db) = self.db.get() {
            return Ok(db.as_ref());
        }
        let db = SpinDatabase::instance()?;
        Ok(self.db.get_or_init(|| db).as_ref())
    }
}

pub type ApiHandler = fn(&ApiRequest) -> Result<Reply, ApiError>;
pub type PublicHandler = fn(&HttpRequest) -> Result<Reply, ApiError>;

/// What serves one method of a route.
#[derive(Clone, Copy)]
pub enum Endpoint {
    /// Needs a valid bearer token; may open the database; reads a JSON body when it says so.
    Authenticated(ApiHandler, Body),
    /// Open to anyone (`/health`, `/ready`, the OpenAPI document); never reads a body.
    Public(PublicHandler),
}

/// Whether an endpoint reads the request's body. Only those that do ever read it: the WASIp3
/// glue reads such a body (bounded) before the handler runs, every other body stays unread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Body {
    Json,
    None,
}

impl Endpoint {
    pub fn reads_body(&self) -> bool {
        matches!(self, Endpoint::Authenticated(_, Body::Json))
    }
}

/// One route: its pattern, its endpoints by method, and those methods' names: the `Allow` header
/// of its 405 and of `OPTIONS`, and the methods its CORS preflight allows.
struct Route {
    pattern: String,
    endpoints: Vec<(Method, Endpoint)>,
    methods: Vec<String>,
}

/// A component's routing table (routefinder, as spin-sdk's `Router` uses).
pub struct Routes {
    component: &'static str,
    router: routefinder::Router<usize>,
    routes: Vec<Route>,
}

impl Routes {
    /// The routes of `component` (its name in the logs).
    pub fn new(component: &'static str) -> Self {
        Routes { component, router: routefinder::Router::new(), routes: Vec::new() }
    }

    /// Serves `path` with one endpoint per method; `OPTIONS` answers 204 with `Allow` (a CORS
    /// preflight before authentication), any other method 405 with `Allow`.
    pub fn route(mut self, path: &str, endpoints: &[(Method, Endpoint)]) -> Self {
        let methods = endpoints.iter().map(|(method, _)| method.to_string()).collect();
        // The paths are the component's own literals: a bad one fails every test at once.
        if let Err(error) = self.router.add(path, self.routes.len()) {
            crate::log::error(&format!("route {path} is not a valid route: {error}"));
        }
        self.routes.push(Route { pattern: path.to_owned(), endpoints: endpoints.to_vec(), methods });
        self
    }

    /// The endpoint serving `method` on `path`, if any.
    pub fn endpoint(&self, method: &Method, path: &str) -> Option<Endpoint> {
        let found = self.router.best_match(path)?;
        let route = &self.routes[*found.handler()];
        route.endpoints.iter().find(|(served, _)| served == method).map(|(_, endpoint)| *endpoint)
    }

    /// One pass of a request: answers it (paths no route matches get the 404 envelope) with the
    /// request id, the envelope and the browser headers, and logs it in one line; or, when its
    /// handler held it for a long-poll ([`ApiRequest::unless_nothing_new`]), says so.
    /// Synchronous from start to end: see the module.
    pub fn answer(&self, request: &HttpRequest) -> Attempt {
        let request_id = request.request_id();
        crate::log::begin_request(self.component, request_id);
        request.attempts.begin();
        crate::db::start_counting_statements();
        let found = self.router.best_match(request.path());
        let route = found.as_ref().map(|found| &self.routes[*found.handler()]);
        let mut caller = None;
        let mut answer = Answer::Regular;
        let outcome = match (&found, route) {
            (Some(_), Some(route)) if request.method() == &Method::Options => {
                if browser::is_preflight(request) {
                    answer = Answer::Preflight { methods: &route.methods };
                    Ok(Reply::no_content())
                } else {
                    Ok(Reply::no_content().header("allow", route.methods.join(", ")))
                }
            }
            (Some(found), Some(route)) => match route.endpoints.iter().find(|(method, _)| method == request.method()) {
                Some((_, endpoint)) => serve(request, &found.captures().into_owned(), *endpoint, &mut caller),
                None => Err(ApiError::MethodNotAllowed { allow: route.methods.join(", ") }),
            },
            _ => Err(ApiError::NotFound),
        };
        let statements = request.attempts.add_statements(crate::db::statements_sent());
        if outcome.is_ok() && request.attempts.is_held() {
            return Attempt::Held;
        }
        let (mut response, error) = match outcome {
            Ok(reply) => (reply.into_response(request_id), None),
            Err(error) => (error_response(&error, request_id), error.is_server_error().then(|| error.to_string())),
        };
        let policy = config::cors_policy().unwrap_or_default();
        browser::add_headers(&mut response, request, &policy, answer);
        crate::log::request(&crate::log::RequestLine {
            method: &request.method().to_string(),
            route: route.map(|route| route.pattern.as_str()),
            status: response.status,
            duration_ms: (request.attempts.received().elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            statements,
            passes: Some(request.attempts.count()).filter(|&passes| passes > 1),
            user_id: caller.map(|caller: UserId| caller.to_string()),
            error,
        });
        Attempt::Answered(response)
    }
}

/// Runs the endpoint; `caller` is set once the token is verified.
fn serve(
    request: &HttpRequest,
    params: &Params,
    endpoint: Endpoint,
    caller: &mut Option<UserId>,
) -> Result<Reply, ApiError> {
    match endpoint {
        Endpoint::Public(handler) => handler(request),
        Endpoint::Authenticated(handler, body) => {
            if body == Body::None {
                request.refuse_body_reads();
            }
            let config = AppConfig::instance()?;
            let authenticated = authenticate(request.header("authorization"), &config.auth)?;
            *caller = Some(authenticated.user_id);
            let api = ApiRequest { request, params, caller: &authenticated, config: &config, db: OnceCell::new() };
            with_current_schema(&api, handler)
        }
    }
}

/// Runs `handler`; when it meets a missing table or column, migrates the store and runs it once
/// more (the body, already read, is kept). This is how a fresh `spin up` gets its schema without
/// a manual step (see [`migrations`]).
fn with_current_schema(api: &ApiRequest, handler: ApiHandler) -> Result<Reply, ApiError> {
    match handler(api) {
        Err(ApiError::Database(DbError::SchemaOutdated(detail))) => {
            crate::log::warn(&format!("schema out of date ({detail}); applying migrations"));
            migrations::ensure_current(api.db()?)?;
            handler(api)
        }
        other => other,
    }
}

/// `GET` served by an authenticated handler.
pub fn get(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Get, Endpoint::Authenticated(handler, Body::None))
}

/// `POST` served by an authenticated handler that takes no body.
pub fn post(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Post, Endpoint::Authenticated(handler, Body::None))
}

/// `POST` served by an authenticated handler that reads a JSON body.
pub fn post_json(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Post, Endpoint::Authenticated(handler, Body::Json))
}

/// `PUT` served by an authenticated handler that reads a JSON body.
pub fn put_json(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Put, Endpoint::Authenticated(handler, Body::Json))
}

/// `PUT` served by an authenticated handler that takes no body.
pub fn put(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Put, Endpoint::Authenticated(handler, Body::None))
}

/// `PATCH` served by an authenticated handler that reads a JSON body.
pub fn patch_json(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Patch, Endpoint::Authenticated(handler, Body::Json))
}

/// `DELETE` served by an authenticated handler.
pub fn delete(handler: ApiHandler) -> (Method, Endpoint) {
    (Method::Delete, Endpoint::Authenticated(handler, Body::None))
}

/// `GET` open to anyone.
pub fn public_get(handler: PublicHandler) -> (Method, Endpoint) {
    (Method::Get, Endpoint::Public(handler))
}
