//! The one error type of the API and its mapping to an HTTP status and a stable `code`.
//!
//! Every failure a handler can meet ends up as an [`ApiError`]; [`crate::response`] turns it into
//! the contract's error envelope in one place. Internal details never reach the client: they are
//! logged with the request id by [`crate::http`].

use serde::Serialize;

use crate::access::Refusal;
use crate::db::DbError;

/// One entry of a `VALIDATION_ERROR`'s `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body stream broke before its end (the client went away, say).
    #[error("request body could not be read: {0}")]
    UnreadableBody(String),
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// A refusal of the room's access rules or of a guarded write (403, 404, 409).
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// No such route.
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("not ready: {0}")]
    NotReady(String),
    /// The store is unreachable or overloaded: 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other failure of the store: 500.
    #[error(transparent)]
    Database(DbError),
    /// Anything unexpected. The text is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation(_) | ApiError::InvalidJson(_) | ApiError::UnreadableBody(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Refused(refusal) => refusal.status(),
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Unavailable(_) | ApiError::NotReady(_) => 503,
            ApiError::Database(_) | ApiError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "VALIDATION_ERROR",
            ApiError::InvalidJson(_) | ApiError::UnreadableBody(_) => "INVALID_JSON",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::Refused(refusal) => refusal.code(),
            ApiError::NotFound => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::Database(_) | ApiError::Internal(_) => "INTERNAL_ERROR",
            ApiError::NotReady(_) => "NOT_READY",
        }
    }

    /// The message a client sees: fixed per kind for server-side failures, so no internal
    /// detail can leak through it.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Validation(_) => "the request is invalid".into(),
            ApiError::InvalidJson(_) => "the request body is not valid JSON".into(),
            ApiError::UnreadableBody(_) => "the request body could not be read to its end".into(),
            ApiError::Unauthorized(reason) => format!("authentication required: {reason}"),
            ApiError::Refused(refusal) => refusal.message().into(),
            ApiError::NotFound => "not found".into(),
            ApiError::MethodNotAllowed { .. } => "method not allowed on this route".into(),
            ApiError::PayloadTooLarge => "the request body exceeds 64 KiB".into(),
            ApiError::UnsupportedMediaType => "the request body must be JSON (Content-Type: application/json)".into(),
            ApiError::Unavailable(_) => "the service is temporarily unavailable, retry later".into(),
            ApiError::Database(_) | ApiError::Internal(_) => "internal error".into(),
            ApiError::NotReady(_) => {
                "not ready: the database is unreachable, its schema is not current, or the configuration is invalid"
                    .into()
            }
        }
    }

    /// Whether the failure is the server's, so its detail belongs in the log.
    pub fn is_server_error(&self) -> bool {
        self.status() >= 500
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Unavailable(detail) => ApiError::Unavailable(detail),
            other => ApiError::Database(other),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            // A validation error carries its field, as every other one does.
            Refusal::UnknownReplyTarget => ApiError::invalid("replyTo", refusal.message()),
            Refusal::EmptyTextContent => match crate::messages::text_content(Some("")) {
                Err(rule) => ApiError::Validation(vec![rule]),
                Ok(_) => ApiError::invalid("content", refusal.message()),
            },
            refusal => ApiError::Refused(refusal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of every kind the API answers. The `match` has no wildcard, so a new variant
    /// does not compile until it is listed here (and then in `docs/errors.md`).
    fn every_kind() -> Vec<ApiError> {
        let refusals = [
            Refusal::NotFound,
            Refusal::Forbidden,
            Refusal::NotMember,
            Refusal::LeavingWithoutMembership,
            Refusal::LastAdmin,
            Refusal::AlreadyMember,
            Refusal::RoomNameTaken,
            Refusal::IdempotencyConflict,
            Refusal::MessageDeleted,
            Refusal::TooManyReactions,
            Refusal::UnknownReplyTarget,
            Refusal::EmptyTextContent,
        ];
        for refusal in refusals {
            match refusal {
                Refusal::NotFound
                | Refusal::Forbidden
                | Refusal::NotMember
                | Refusal::LeavingWithoutMembership
                | Refusal::LastAdmin
                | Refusal::AlreadyMember
                | Refusal::RoomNameTaken
                | Refusal::IdempotencyConflict
                | Refusal::MessageDeleted
                | Refusal::TooManyReactions
                | Refusal::UnknownReplyTarget
                | Refusal::EmptyTextContent => {}
            }
        }
        let mut kinds = vec![
            ApiError::invalid("id", "x"),
            ApiError::InvalidJson(String::new()),
            ApiError::UnreadableBody(String::new()),
            ApiError::Unauthorized("x"),
            ApiError::NotFound,
            ApiError::MethodNotAllowed { allow: String::new() },
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::NotReady(String::new()),
            ApiError::Unavailable(String::new()),
            ApiError::Database(DbError::Other(String::new())),
            ApiError::Internal(String::new()),
        ];
        for kind in &kinds {
            match kind {
                ApiError::Validation(_)
                | ApiError::InvalidJson(_)
                | ApiError::UnreadableBody(_)
                | ApiError::Unauthorized(_)
                | ApiError::Refused(_)
                | ApiError::NotFound
                | ApiError::MethodNotAllowed { .. }
                | ApiError::PayloadTooLarge
                | ApiError::UnsupportedMediaType
                | ApiError::NotReady(_)
                | ApiError::Unavailable(_)
                | ApiError::Database(_)
                | ApiError::Internal(_) => {}
            }
        }
        kinds.extend(refusals.map(ApiError::from));
        kinds
    }

    #[test]
    fn the_error_code_table_in_the_docs_lists_exactly_what_the_api_answers() {
        let table: std::collections::BTreeSet<(u16, String)> = include_str!("../../../docs/errors.md")
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let status = cells.get(1)?.parse().ok()?;
                Some((status, cells.get(2)?.trim_matches('`').to_owned()))
            })
            .collect();
        let answered: std::collections::BTreeSet<(u16, String)> =
            every_kind().iter().map(|error| (error.status(), error.code().to_owned())).collect();
        assert_eq!(table, answered);
    }
}
