//! Repositories: the only code that speaks SQL. Every statement uses bound parameters, runs on
//! local SQLite and libSQL alike, and no statement runs inside a loop.

pub mod invitations;
pub mod memberships;
pub mod messages;
pub mod rooms;

use crate::db::DbError;
use crate::error::{ApiError, Conflict};

/// The store's clock as the contract's timestamp format (RFC 3339 UTC with milliseconds).
macro_rules! now_sql {
    () => {
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    };
}
pub(crate) use now_sql;

/// Maps a UNIQUE violation to the route's 409; other failures stay database errors.
pub(crate) fn on_unique(conflict: Conflict) -> impl FnOnce(DbError) -> ApiError {
    move |error| match error {
        DbError::UniqueViolation(_) => ApiError::Conflict(conflict),
        other => ApiError::Database(other),
    }
}

#[cfg(test)]
mod tests;
