//! A thin database abstraction over Spin's `spin:sqlite/sqlite@3.0.0` interface.
//!
//! Repositories speak to [`Database`], never to the Spin SDK directly, so their SQL can be unit-tested
//! natively against an in-memory SQLite. The SQL must run unchanged on local SQLite and on libSQL
//! (see the README): computed columns are aliased, ids come from `RETURNING`, and the host's
//! `changes()` / `last_insert_rowid()` are never called (libSQL always answers 0).

#[cfg(any(test, feature = "native"))]
pub mod native;
mod rows;

use std::fmt;

pub use rows::{Column, FromRow, Row, Rows, SqlValue};

/// What can go wrong talking to the store, classified by what the API should answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DbError {
    /// The store cannot be reached or is overloaded: answered 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A UNIQUE constraint failed; repositories turn this into the route's 409.
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    /// A table or column the code expects does not exist yet: the schema needs migrating.
    #[error("schema out of date: {0}")]
    SchemaOutdated(String),
    /// A value came back in a shape the code does not expect.
    #[error("unexpected column value: {0}")]
    Decode(String),
    #[error("database error: {0}")]
    Other(String),
}

impl DbError {
    /// Classifies a driver's error text: the one place that decides what a store failure
    /// means. Local SQLite and libSQL (`Hrana: ...`) word errors differently; the substrings
    /// below are matched case-insensitively.
    pub fn from_message(message: &str) -> DbError {
        let lower = message.to_lowercase();
        if lower.contains("unique constraint failed") {
            DbError::UniqueViolation(message.to_owned())
        } else if ["no such table", "no such column", "has no column named"].iter().any(|n| lower.contains(n)) {
            DbError::SchemaOutdated(message.to_owned())
        } else if BUSY_OR_UNREACHABLE.iter().any(|needle| lower.contains(needle)) {
            DbError::Unavailable(message.to_owned())
        } else {
            DbError::Other(message.to_owned())
        }
    }
}

/// What means "the store is unreachable or busy, retry": answered 503 with `Retry-After`, never
/// 500. Nothing the app retries itself: a client retries after `Retry-After` (keyed sends
/// replay safely).
const BUSY_OR_UNREACHABLE: [&str; 26] = [
    // Local SQLite: another writer holds the lock past Spin's 5 s busy timeout (SQLITE_BUSY,
    // SQLITE_LOCKED: "database is locked", "database table is locked", "database schema is
    // locked"), or the file cannot be opened.
    " is locked",
    "unable to open database",
    // The network between Spin and sqld (Spin's libSQL client over HTTP).
    "connection refused",
    "error trying to connect",
    "error sending request",
    "connection reset",
    "connection closed",
    "broken pipe",
    // sqld gone while it answered (its response cut short): whether a write committed is
    // unknown, so the client retries (a keyed send then replays or inserts, never twice).
    "error reading a body",
    "unexpected eof",
    "channel closed",
    // Spin's libSQL client failing to talk HTTP to sqld at all (its transport, not SQL).
    "hrana: `http error",
    "dns error",
    "timed out",
    "bad gateway",
    "service unavailable",
    "gateway timeout",
    // sqld past its limits (--max-concurrent-requests / -connections): busy, not broken (its
    // "Timed out while opening database connection" is "timed out" above).
    "too many concurrent requests",
    "server can't handle additional transactions",
    "server cannot handle additional transactions",
    "operation was blocked",
    // sqld ended a transaction or a Hrana stream held too long (its transaction timeout, the
    // stream's idle expiry), or lost its primary.
    "transaction timed",
    "stream has expired",
    "stream not found",
    "failed to connect to primary",
    "connection with primary broken",
];

/// A connection to the store. One is opened per request, as Spin gives each request a fresh
/// instance; every `execute` runs exactly one statement.
pub trait Database {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError>;
}

impl fmt::Debug for dyn Database + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Database")
    }
}

/// Runs `work` inside `BEGIN IMMEDIATE` ... `COMMIT`, rolling back when it fails. `IMMEDIATE`
/// takes the write lock up front, so concurrent writers queue instead of failing mid-transaction
/// (on local SQLite with Spin's 5 s busy timeout, and on libSQL alike).
pub fn transaction<T, E>(db: &dyn Database, work: impl FnOnce(&dyn Database) -> Result<T, E>) -> Result<T, E>
where
    E: From<DbError>,
{
    db.execute("BEGIN IMMEDIATE", &[])?;
    match work(db) {
        Ok(value) => {
            if let Err(commit_error) = db.execute("COMMIT", &[]) {
                rollback(db);
                return Err(commit_error.into());
            }
            Ok(value)
        }
        Err(error) => {
            rollback(db);
            Err(error)
        }
    }
}

fn rollback(db: &dyn Database) {
    // The request fails with the original error either way; a failed ROLLBACK means the
    // connection is gone, and the host rolls back a transaction whose connection is dropped.
    if let Err(error) = db.execute("ROLLBACK", &[]) {
        crate::log::error(&format!("rollback failed: {error}"));
    }
}

/// The Spin host's connection (`spin:sqlite/sqlite@3.0.0`).
pub struct SpinDatabase {
    connection: spin_sdk::sqlite3::Connection,
}

impl SpinDatabase {
    /// Opens the `default` database, the one every component lists in `sqlite_databases`.
    pub fn open_default() -> Result<Self, DbError> {
        spin_sdk::sqlite3::Connection::open_default()
            .map(|connection| SpinDatabase { connection })
            .map_err(from_spin_error)
    }
}

/// Statements this instance sent to the store: Spin gives each request an instance of its own,
/// so this counts the request's (for its log line).
static STATEMENTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

pub fn statements_sent() -> u32 {
    STATEMENTS.load(std::sync::atomic::Ordering::Relaxed)
}

impl Database for SpinDatabase {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        use spin_sdk::sqlite3::Value;
        STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let params: Vec<Value> = params
            .iter()
            .map(|value| match value {
                SqlValue::Integer(n) => Value::Integer(*n),
                SqlValue::Real(x) => Value::Real(*x),
                SqlValue::Text(s) => Value::Text(s.clone()),
                SqlValue::Blob(b) => Value::Blob(b.clone()),
                SqlValue::Null => Value::Null,
            })
            .collect();
        let result = self.connection.execute(sql, &params).map_err(from_spin_error)?;
        let columns = result.columns;
        let rows = result
            .rows
            .into_iter()
            .map(|row| {
                row.values
                    .into_iter()
                    .map(|value| match value {
                        Value::Integer(n) => SqlValue::Integer(n),
                        Value::Real(x) => SqlValue::Real(x),
                        Value::Text(s) => SqlValue::Text(s),
                        Value::Blob(b) => SqlValue::Blob(b),
                        Value::Null => SqlValue::Null,
                    })
                    .collect()
            })
            .collect();
        Ok(Rows { columns, rows })
    }
}

fn from_spin_error(error: spin_sdk::sqlite3::Error) -> DbError {
    use spin_sdk::sqlite3::Error;
    match error {
        Error::Io(message) => DbError::from_message(&message),
        Error::DatabaseFull => DbError::Unavailable("database full".into()),
        Error::NoSuchDatabase => {
            DbError::Other("no such database: check sqlite_databases and the runtime config".into())
        }
        Error::AccessDenied => DbError::Other("access denied: the component does not list this database".into()),
        Error::InvalidConnection => DbError::Unavailable("invalid connection".into()),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! An in-memory SQLite behind [`Database`], for repository unit tests.
    pub use super::native::NativeDatabase as MemoryDatabase;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_local_and_libsql_error_texts() {
        let cases = [
            ("UNIQUE constraint failed: rooms.name_key", "unique"),
            ("Hrana: `stream error: SQLITE_CONSTRAINT: UNIQUE constraint failed: t.id`", "unique"),
            ("no such table: rooms", "schema"),
            ("table rooms has no column named description_key", "schema"),
            ("database is locked", "unavailable"),
            ("database table is locked: rooms", "unavailable"),
            ("database schema is locked: main", "unavailable"),
            ("unable to open database file", "unavailable"),
            ("Hrana: `api error: `error sending request: Connection refused (os error 111)``", "unavailable"),
            ("Hrana: `error sending request: connection closed before message completed`", "unavailable"),
            ("Hrana: `api error: `status=503 Service Unavailable``", "unavailable"),
            ("Hrana: `api error: `status=500 Internal Server Error, body=Internal Error: Too many concurrent requests``", "unavailable"),
            ("Hrana: `api error: `Timed out while opening database connection``", "unavailable"),
            ("Hrana: `api error: `status=500 Internal Server Error, body=Server can't handle additional transactions``", "unavailable"),
            ("Hrana: `api error: `status=500 Internal Server Error, body=Transaction timed-out``", "unavailable"),
            ("Hrana: `api error: `status=400 Bad Request, body=The stream has expired due to inactivity``", "unavailable"),
            ("Hrana: `api error: `Operation was blocked``", "unavailable"),
            (
                "Hrana: `cursor error: `cursor error: `error reading a body from connection: unexpected EOF during chunk size line```",
                "unavailable",
            ),
            ("Hrana: `http error: `channel closed``", "unavailable"),
            ("near \"SELEC\": syntax error", "other"),
            ("database disk image is malformed", "other"),
            ("disk I/O error", "other"),
        ];
        for (message, expected) in cases {
            let got = match DbError::from_message(message) {
                DbError::UniqueViolation(_) => "unique",
                DbError::SchemaOutdated(_) => "schema",
                DbError::Unavailable(_) => "unavailable",
                _ => "other",
            };
            assert_eq!(got, expected, "{message}");
        }
    }

    #[test]
    fn a_failed_transaction_is_rolled_back() {
        let db = testing::MemoryDatabase::new();
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)", &[]).unwrap();
        let result: Result<(), DbError> = transaction(&db, |tx| {
            tx.execute("INSERT INTO t (id) VALUES (1)", &[])?;
            tx.execute("INSERT INTO t (id) VALUES (1)", &[])?;
            Ok(())
        });
        assert!(matches!(result, Err(DbError::UniqueViolation(_))));
        let rows = db.execute("SELECT count(*) AS n FROM t", &[]).unwrap();
        assert_eq!(rows.first().unwrap().get::<i64>("n").unwrap(), 0);
    }
}
