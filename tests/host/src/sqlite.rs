//! `spin:sqlite/sqlite@3.0.0` over `rusqlite`, with the semantics SPIN-FACTS.md records for
//! `spin up`: the label `default` is one database file shared by all components; a label the
//! component does not list in `sqlite_databases` is `access-denied`; each `open` is a fresh
//! connection with `busy_timeout` 5000 ms and the default (delete) journal mode; a connection
//! dropped inside a transaction rolls it back.
//!
//! One difference on purpose: a string holding two statements is an error here, where Spin
//! silently runs only the first, so such a bug fails the tests instead of losing a statement.
//!
//! For tests it counts statements, records calls of the host's `changes` / `last-insert-rowid`
//! (always 0 on libSQL, so the app must never rely on them), and can play an unreachable store.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::Resource;

use crate::bindings::spin::sqlite::sqlite::{self as wit, Error, QueryResult, RowResult, Value};
use crate::State;

/// What libSQL answers when its server cannot be reached (as seen under Spin).
pub const UNREACHABLE_MESSAGE: &str =
    "Hrana: `api error: `error sending request for url (http://sqld:8080/v2/pipeline): Connection refused (os error 111)``";

/// The store behind the `default` label, shared by every component of an app.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    available: AtomicBool,
    statements: AtomicU64,
    host_row_calls: AtomicU64,
}

impl SqliteStore {
    pub fn new(path: PathBuf) -> SqliteStore {
        SqliteStore {
            path,
            available: AtomicBool::new(true),
            statements: AtomicU64::new(0),
            host_row_calls: AtomicU64::new(0),
        }
    }

    /// The database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Plays an unreachable store: `open` and `execute` fail as libSQL's client does.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    /// Statements executed so far, by every component.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::SeqCst)
    }

    /// Calls of the host's `changes` or `last-insert-rowid` so far.
    pub fn host_row_call_count(&self) -> u64 {
        self.host_row_calls.load(Ordering::SeqCst)
    }

    fn check_available(&self) -> Result<(), Error> {
        if self.available.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(Error::Io(UNREACHABLE_MESSAGE.to_owned()))
        }
    }

    fn connect(&self) -> Result<rusqlite::Connection, Error> {
        let connection = rusqlite::Connection::open(&self.path).map_err(io_error)?;
        connection
            .busy_timeout(Duration::from_millis(5000))
            .map_err(io_error)?;
        Ok(connection)
    }
}

/// The host side of a guest's `connection` resource.
pub struct Connection {
    inner: Arc<Mutex<rusqlite::Connection>>,
}

fn io_error(error: rusqlite::Error) -> Error {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => Error::Io(message),
        other => Error::Io(other.to_string()),
    }
}

fn run_statement(
    connection: &rusqlite::Connection,
    sql: &str,
    parameters: Vec<Value>,
) -> Result<QueryResult, Error> {
    use rusqlite::types::{Value as SqlValue, ValueRef};
    let mut statement = connection.prepare(sql).map_err(io_error)?;
    let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let parameters = parameters.into_iter().map(|value| match value {
        Value::Integer(n) => SqlValue::Integer(n),
        Value::Real(x) => SqlValue::Real(x),
        Value::Text(s) => SqlValue::Text(s),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    });
    let mut rows = statement
        .query(rusqlite::params_from_iter(parameters))
        .map_err(io_error)?;
    let mut result = Vec::new();
    while let Some(row) = rows.next().map_err(io_error)? {
        let mut values = Vec::with_capacity(columns.len());
        for index in 0..columns.len() {
            values.push(match row.get_ref(index).map_err(io_error)? {
                ValueRef::Integer(n) => Value::Integer(n),
                ValueRef::Real(x) => Value::Real(x),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                ValueRef::Null => Value::Null,
            });
        }
        result.push(RowResult { values });
    }
    Ok(QueryResult {
        columns,
        rows: result,
    })
}

impl wit::Host for State {}

impl wit::HostConnection for State {
    async fn open(&mut self, database: String) -> Result<Resource<Connection>, Error> {
        if !self
            .component
            .sqlite_databases
            .iter()
            .any(|d| d == &database)
        {
            return Err(Error::AccessDenied);
        }
        if database != "default" {
            return Err(Error::NoSuchDatabase);
        }
        let store = self.sqlite.clone();
        store.check_available()?;
        let connection = tokio::task::spawn_blocking(move || store.connect())
            .await
            .map_err(|e| Error::Io(e.to_string()))??;
        self.table
            .push(Connection {
                inner: Arc::new(Mutex::new(connection)),
            })
            .map_err(|e| Error::Io(e.to_string()))
    }

    async fn execute(
        &mut self,
        connection: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        self.sqlite.statements.fetch_add(1, Ordering::SeqCst);
        self.sqlite.check_available()?;
        let inner = self
            .table
            .get(&connection)
            .map_err(|_| Error::InvalidConnection)?
            .inner
            .clone();
        tokio::task::spawn_blocking(move || {
            let connection = inner.lock().map_err(|_| Error::InvalidConnection)?;
            run_statement(&connection, &statement, parameters)
        })
        .await
        .map_err(|e| Error::Io(e.to_string()))?
    }

    async fn last_insert_rowid(&mut self, connection: Resource<Connection>) -> i64 {
        self.sqlite.host_row_calls.fetch_add(1, Ordering::SeqCst);
        match self.table.get(&connection) {
            Ok(c) => c.inner.lock().map(|c| c.last_insert_rowid()).unwrap_or(0),
            Err(_) => 0,
        }
    }

    async fn changes(&mut self, connection: Resource<Connection>) -> u64 {
        self.sqlite.host_row_calls.fetch_add(1, Ordering::SeqCst);
        match self.table.get(&connection) {
            Ok(c) => c.inner.lock().map(|c| c.changes()).unwrap_or(0),
            Err(_) => 0,
        }
    }

    async fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        // Dropping the rusqlite connection rolls back any open transaction, as Spin does.
        self.table.delete(connection)?;
        Ok(())
    }
}
