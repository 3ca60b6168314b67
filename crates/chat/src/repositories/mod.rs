//! Repositories: the only code that speaks SQL. Every statement uses bound parameters, runs on
//! local SQLite and libSQL alike, and no statement runs inside a loop. Rows are decoded by
//! column name ([`crate::db::FromRow`]). A write the access rules may refuse answers
//! `Result<Result<T, Refusal>, DbError>`: the store failed, or the write was refused (and why),
//! worked out in the same statement or transaction (`guards`).

pub mod changes;
pub mod edits;
mod guards;
pub mod history;
pub mod invitations;
pub mod memberships;
pub mod messages;
pub mod reactions;
pub mod rooms;

/// The store's clock as the contract's timestamp format (RFC 3339 UTC with milliseconds).
macro_rules! now_sql {
    () => {
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    };
}
pub(crate) use now_sql;

/// What a write the access rules may refuse answers: the store failed (`Err`), or the write
/// was done (`Ok(Ok)`) or refused, with the reason (`Ok(Err)`).
pub type Guarded<T> = Result<Result<T, crate::access::Refusal>, crate::db::DbError>;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod query_plans;

#[cfg(test)]
mod room_search;
