//! The chat rooms domain shared by every component: typed ids, authentication, validation,
//! repositories (the only place with SQL), migrations, the error type and the response envelope.
//!
//! Components stay thin: they declare routes ([`http::Routes`]) and call into this crate.
//! Nothing in this crate may panic on client input.

pub mod access;
pub mod auth;
pub mod body;
pub mod browser;
pub mod changes;
pub mod config;
pub mod cursor;
pub mod db;
pub mod edits;
pub mod error;
pub mod history;
pub mod http;
pub mod ids;
pub mod log;
pub mod long_poll;
pub mod membership;
pub mod messages;
pub mod migrations;
pub mod pagination;
pub mod reactions;
pub mod repositories;
pub mod request;
pub mod response;
pub mod rooms;
pub mod serve;
pub mod text;

pub use access::Refusal;
pub use error::{ApiError, FieldError};
pub use response::Reply;
