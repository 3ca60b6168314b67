//! `spin:sqlite/sqlite@3.0.0` over `rusqlite`, with the semantics SPIN-FACTS.md records for
//! `spin up`: the label `default` is one database file shared by all components; a label the
//! component does not list in `sqlite_databases` is `access-denied`; each `open` is a fresh
//! connection with `busy_timeout` 5000 ms and the default (delete) journal mode; a connection
//! dropped inside a transaction rolls it back.
//!
//! A string holding two statements runs only the first, silently, as under Spin; the host
//! records each such call so a test can assert the app never loses a statement that way.
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
    ignored_tails: AtomicU64,
}

impl SqliteStore {
    pub fn new(path: PathBuf) -> SqliteStore {
        SqliteStore {
            path,
            available: AtomicBool::new(true),
            statements: AtomicU64::new(0),
            host_row_calls: AtomicU64::new(0),
            ignored_tails: AtomicU64::new(0),
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

    /// `execute` calls whose string held more statements after the first (which were not run).
    pub fn ignored_tail_count(&self) -> u64 {
        self.ignored_tails.load(Ordering::SeqCst)
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
        connection.busy_timeout(Duration::from_millis(5000)).map_err(io_error)?;
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

/// Runs the first statement of `sql`; answers whether more followed it (and were ignored).
fn run_statement(
    connection: &rusqlite::Connection,
    sql: &str,
    parameters: Vec<Value>,
) -> Result<(QueryResult, bool), Error> {
    use rusqlite::fallible_iterator::FallibleIterator as _;
    use rusqlite::types::{Value as SqlValue, ValueRef};
    let mut batch = rusqlite::Batch::new(connection, sql);
    let mut statement =
        batch.next().map_err(io_error)?.ok_or_else(|| Error::Io("no statement in the string".to_owned()))?;
    let ignored_tail = !matches!(batch.next(), Ok(None));
    let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let parameters = parameters.into_iter().map(|value| match value {
        Value::Integer(n) => SqlValue::Integer(n),
        Value::Real(x) => SqlValue::Real(x),
        Value::Text(s) => SqlValue::Text(s),
        Value::Blob(b) => SqlValue::Blob(b),
        Value::Null => SqlValue::Null,
    });
    let mut rows = statement.query(rusqlite::params_from_iter(parameters)).map_err(io_error)?;
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
    Ok((QueryResult { columns, rows: result }, ignored_tail))
}

impl wit::Host for State {}

impl wit::HostConnection for State {
    async fn open(&mut self, database: String) -> Result<Resource<Connection>, Error> {
        if !self.component.sqlite_databases.iter().any(|d| d == &database) {
            return Err(Error::AccessDenied);
        }
        if database != "default" {
            return Err(Error::NoSuchDatabase);
        }
        let store = self.sqlite.clone();
        store.check_available()?;
        let connection =
            tokio::task::spawn_blocking(move || store.connect()).await.map_err(|e| Error::Io(e.to_string()))??;
        self.table.push(Connection { inner: Arc::new(Mutex::new(connection)) }).map_err(|e| Error::Io(e.to_string()))
    }

    async fn execute(
        &mut self,
        connection: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        self.sqlite.statements.fetch_add(1, Ordering::SeqCst);
        self.sqlite.check_available()?;
        let inner = self.table.get(&connection).map_err(|_| Error::InvalidConnection)?.inner.clone();
        let (result, ignored_tail) = tokio::task::spawn_blocking(move || {
            let connection = inner.lock().map_err(|_| Error::InvalidConnection)?;
            run_statement(&connection, &statement, parameters)
        })
        .await
        .map_err(|e| Error::Io(e.to_string()))??;
        if ignored_tail {
            self.sqlite.ignored_tails.fetch_add(1, Ordering::SeqCst);
        }
        Ok(result)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::spin::sqlite::sqlite::HostConnection;
    use crate::ComponentContext;

    fn state(databases: &[&str], store: Arc<SqliteStore>) -> State {
        State::new(
            Arc::new(ComponentContext {
                id: "probe".into(),
                variables: Default::default(),
                sqlite_databases: databases.iter().map(|d| d.to_string()).collect(),
            }),
            store,
            wasmtime_wasi::WasiCtx::builder().build(),
        )
    }

    fn store() -> (tempfile::TempDir, Arc<SqliteStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::new(dir.path().join("sqlite_db.db")));
        (dir, store)
    }

    #[tokio::test]
    async fn labels_follow_the_manifest() {
        let (_dir, store) = store();
        let mut unlisted = state(&[], store.clone());
        assert!(matches!(unlisted.open("default".into()).await, Err(Error::AccessDenied)));
        let mut other = state(&["default", "other"], store.clone());
        assert!(matches!(other.open("other".into()).await, Err(Error::NoSuchDatabase)));
        assert!(other.open("default".into()).await.is_ok());
    }

    #[tokio::test]
    async fn one_file_is_shared_and_counted() {
        let (_dir, store) = store();
        let mut first = state(&["default"], store.clone());
        let mut second = state(&["default"], store.clone());
        let a = first.open("default".into()).await.unwrap();
        first.execute(a, "CREATE TABLE t (x INTEGER)".into(), vec![]).await.unwrap();
        let b = second.open("default".into()).await.unwrap();
        let b_again = Resource::new_borrow(b.rep());
        second.execute(b, "INSERT INTO t (x) VALUES (?)".into(), vec![Value::Integer(7)]).await.unwrap();
        let rows = second.execute(b_again, "SELECT x AS x FROM t".into(), vec![]).await.unwrap();
        assert_eq!(rows.columns, vec!["x"]);
        assert!(matches!(rows.rows[0].values[0], Value::Integer(7)));
        assert_eq!(store.statement_count(), 3);
    }

    #[tokio::test]
    async fn two_statements_in_one_execute_run_only_the_first_and_are_recorded() {
        let (_dir, store) = store();
        let mut state = state(&["default"], store.clone());
        let connection = state.open("default".into()).await.unwrap();
        let again = Resource::new_borrow(connection.rep());
        state
            .execute(connection, "CREATE TABLE t (x INTEGER); CREATE TABLE u (y INTEGER)".into(), vec![])
            .await
            .unwrap();
        let tables =
            state.execute(again, "SELECT name FROM sqlite_master WHERE type = 'table'".into(), vec![]).await.unwrap();
        assert!(matches!(&tables.rows[..], [row] if matches!(&row.values[0], Value::Text(t) if t == "t")));
        assert_eq!(store.ignored_tail_count(), 1);
    }

    #[tokio::test]
    async fn one_statement_with_a_trailing_semicolon_is_not_recorded() {
        let (_dir, store) = store();
        let mut state = state(&["default"], store.clone());
        let connection = state.open("default".into()).await.unwrap();
        state.execute(connection, "SELECT 1;  ".into(), vec![]).await.unwrap();
        assert_eq!(store.ignored_tail_count(), 0);
    }

    #[tokio::test]
    async fn an_unreachable_store_fails_open_and_execute_as_libsql_does() {
        let (_dir, store) = store();
        let mut state = state(&["default"], store.clone());
        let connection = state.open("default".into()).await.unwrap();
        let again = Resource::new_borrow(connection.rep());
        store.set_available(false);
        assert!(
            matches!(state.execute(again, "SELECT 1".into(), vec![]).await, Err(Error::Io(m)) if m.contains("Connection refused"))
        );
        assert!(matches!(state.open("default".into()).await, Err(Error::Io(_))));
    }
}
