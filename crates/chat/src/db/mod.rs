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
const BUSY_OR_UNREACHABLE: [&str; 27] = [
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
    // A connection kept by a WASIp3 instance across a restart of sqld: its stream's baton is
    // unknown to the new server, which refuses the statement unrun. The connection is then
    // forgotten and the next request opens a new one.
    "invalid baton",
    "failed to connect to primary",
    "connection with primary broken",
];

/// A connection to the store; every `execute` runs exactly one statement.
pub trait Database {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError>;

    /// Called when the connection may be left inside a transaction (its `ROLLBACK` failed): a
    /// connection that outlives the request must then never serve another one.
    fn abandon(&self) {}
}

impl fmt::Debug for dyn Database + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Database")
    }
}

/// Runs `work` inside `BEGIN IMMEDIATE` ... `COMMIT`, rolling back when it fails. `IMMEDIATE`
/// takes the write lock up front, so concurrent writers queue instead of failing mid-transaction
/// (on local SQLite with Spin's 5 s busy timeout, and on libSQL alike).
///
/// `work` is a synchronous closure: nothing can `await` between `BEGIN` and the `COMMIT` or
/// `ROLLBACK`, so on a connection shared by the concurrent requests of a WASIp3 instance no other
/// request's statement can run inside this transaction (SPIN-FACTS.md saw an awaiting transaction
/// swallow another request's write and lose it on rollback).
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
    // The request fails with the original error either way. A failed ROLLBACK means the
    // connection is gone or in an unknown state: it is abandoned, and the host rolls back a
    // transaction whose connection is dropped.
    if let Err(error) = db.execute("ROLLBACK", &[]) {
        crate::log::error(&format!("rollback failed: {error}"));
        db.abandon();
    }
}

/// The Spin host's connection (`spin:sqlite/sqlite@3.0.0`) to the `default` database, the one
/// every component lists in `sqlite_databases`.
///
/// One connection per instance, opened on first use ([`SpinDatabase::instance`]): a WASIp2
/// instance serves one request, so there it is the request's; a WASIp3 instance serves up to
/// 128 (16 at once) and they share it, which saves reopening the store (and, on libSQL, building
/// a client) per request. A connection that fails as unavailable, or may be left inside a
/// transaction, is forgotten, so the next request opens a new one: a restarted sqld or a moved
/// file is recovered without restarting Spin.
pub struct SpinDatabase {
    connection: spin_sdk::sqlite3::Connection,
}

thread_local! {
    static INSTANCE_CONNECTION: std::cell::RefCell<Option<std::rc::Rc<SpinDatabase>>> =
        const { std::cell::RefCell::new(None) };
}

impl SpinDatabase {
    /// This instance's connection, opened now if it has none.
    pub fn instance() -> Result<std::rc::Rc<SpinDatabase>, DbError> {
        if let Some(open) = INSTANCE_CONNECTION.with(|kept| kept.borrow().clone()) {
            return Ok(open);
        }
        let opened = std::rc::Rc::new(
            spin_sdk::sqlite3::Connection::open_default()
                .map(|connection| SpinDatabase { connection })
                .map_err(from_spin_error)?,
        );
        INSTANCE_CONNECTION.with(|kept| *kept.borrow_mut() = Some(opened.clone()));
        Ok(opened)
    }

    /// Forgets this instance's connection (the requests holding it finish with it).
    fn forget_instance_connection() {
        INSTANCE_CONNECTION.with(|kept| kept.borrow_mut().take());
    }
}

thread_local! {
    /// Statements the current request sent to the store, for its log line.
    static STATEMENTS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Starts counting statements for a new request. A request's store work never awaits, so no
/// other request of a shared instance runs between this and [`statements_sent`].
pub fn start_counting_statements() {
    STATEMENTS.with(|count| count.set(0));
}

pub fn statements_sent() -> u32 {
    STATEMENTS.with(|count| count.get())
}

impl Database for SpinDatabase {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        use spin_sdk::sqlite3::Value;
        STATEMENTS.with(|count| count.set(count.get() + 1));
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
        let result = match self.connection.execute(sql, &params) {
            Ok(result) => result,
            Err(error) => {
                let error = from_spin_error(error);
                if matches!(error, DbError::Unavailable(_)) {
                    SpinDatabase::forget_instance_connection();
                }
                return Err(error);
            }
        };
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

    fn abandon(&self) {
        SpinDatabase::forget_instance_connection();
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
            ("Hrana: `api error: `Received an invalid baton``", "unavailable"),
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
