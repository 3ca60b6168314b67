//! The one error type of the API and its mapping to an HTTP status and a stable `code`.
//!
//! Every failure a handler can meet ends up as an [`ApiError`]; [`crate::response`] turns it into
//! the contract's error envelope in one place. Internal details never reach the client: they are
//! logged with the request id by [`crate::http`].

use serde::Serialize;

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

/// The 409 conflicts the contract names per route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    RoomNameTaken,
    LastAdmin,
    NotMember,
    AlreadyMember,
    IdempotencyConflict,
}

impl Conflict {
    fn code(self) -> &'static str {
        match self {
            Conflict::RoomNameTaken => "ROOM_NAME_TAKEN",
            Conflict::LastAdmin => "LAST_ADMIN",
            Conflict::NotMember => "NOT_MEMBER",
            Conflict::AlreadyMember => "ALREADY_MEMBER",
            Conflict::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Conflict::RoomNameTaken => "a room with this name already exists",
            Conflict::LastAdmin => "the room's last admin cannot leave, be demoted or be removed",
            Conflict::NotMember => "you are not a member of this room",
            Conflict::AlreadyMember => "the user is already a member of this room",
            Conflict::IdempotencyConflict => "this Idempotency-Key was already used with a different request",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden")]
    Forbidden,
    #[error("not a member")]
    NotMember,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("not ready: {0}")]
    NotReady(String),
    /// A failure of the store: 503 when it is unreachable, 500 otherwise.
    #[error(transparent)]
    Database(#[from] DbError),
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
            ApiError::Validation(_) | ApiError::InvalidJson(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden | ApiError::NotMember => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Database(DbError::Unavailable(_)) => 503,
            ApiError::Database(_) | ApiError::Internal(_) => 500,
            ApiError::NotReady(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "VALIDATION_ERROR",
            ApiError::InvalidJson(_) => "INVALID_JSON",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::Forbidden => "FORBIDDEN",
            ApiError::NotMember => "NOT_MEMBER",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::Conflict(conflict) => conflict.code(),
            ApiError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::Database(DbError::Unavailable(_)) => "SERVICE_UNAVAILABLE",
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
            ApiError::Unauthorized(reason) => format!("authentication required: {reason}"),
            ApiError::Forbidden => "you are not allowed to do this".into(),
            ApiError::NotMember => "you are not a member of this room".into(),
            ApiError::NotFound => "not found".into(),
            ApiError::MethodNotAllowed { .. } => "method not allowed on this route".into(),
            ApiError::Conflict(conflict) => conflict.message().into(),
            ApiError::PayloadTooLarge => "the request body exceeds 64 KiB".into(),
            ApiError::UnsupportedMediaType => "the request body must be JSON (Content-Type: application/json)".into(),
            ApiError::Database(DbError::Unavailable(_)) => "the service is temporarily unavailable, retry later".into(),
            ApiError::Database(_) | ApiError::Internal(_) => "internal error".into(),
            ApiError::NotReady(_) => "not ready: the database is unreachable or its schema is not current".into(),
        }
    }

    /// Whether the failure is the server's, so its detail belongs in the log.
    pub fn is_server_error(&self) -> bool {
        self.status() >= 500
    }
}
