//! SQLite through rusqlite behind [`Database`], natively: the store of the repository unit
//! tests and of the native baseline (`bench`). Same classification of errors as under Spin.

use super::{Database, DbError, Rows, SqlValue};

pub struct NativeDatabase(pub rusqlite::Connection);

impl NativeDatabase {
    pub fn new() -> Self {
        NativeDatabase(rusqlite::Connection::open_in_memory().expect("in-memory sqlite"))
    }

    /// A file, in the rollback journal as Spin opens a new one.
    pub fn open_file(path: &std::path::Path) -> Self {
        let connection = rusqlite::Connection::open(path).expect("sqlite file");
        connection.pragma_update(None, "journal_mode", "DELETE").expect("journal mode");
        NativeDatabase(connection)
    }

    /// An existing store, as Spin's host opens it (rusqlite's 5 s busy timeout).
    pub fn open(path: &std::path::Path) -> Result<Self, DbError> {
        rusqlite::Connection::open(path).map(NativeDatabase).map_err(|e| DbError::from_message(&e.to_string()))
    }
}

impl Default for NativeDatabase {
    fn default() -> Self {
        NativeDatabase::new()
    }
}

impl Database for NativeDatabase {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        use rusqlite::types::{Value, ValueRef};
        let run = || -> rusqlite::Result<Rows> {
            let mut statement = self.0.prepare(sql)?;
            let names: Vec<String> = statement.column_names().map(str::to_owned).collect();
            let columns = names.len();
            let params = params.iter().map(|p| match p {
                SqlValue::Integer(n) => Value::Integer(*n),
                SqlValue::Real(x) => Value::Real(*x),
                SqlValue::Text(s) => Value::Text(s.clone()),
                SqlValue::Blob(b) => Value::Blob(b.clone()),
                SqlValue::Null => Value::Null,
            });
            let mut rows = statement.query(rusqlite::params_from_iter(params))?;
            let mut out = Rows { columns: names, rows: Vec::new() };
            while let Some(row) = rows.next()? {
                let values = (0..columns)
                    .map(|i| match row.get_ref(i)? {
                        ValueRef::Integer(n) => Ok(SqlValue::Integer(n)),
                        ValueRef::Real(x) => Ok(SqlValue::Real(x)),
                        ValueRef::Text(t) => Ok(SqlValue::Text(String::from_utf8_lossy(t).into_owned())),
                        ValueRef::Blob(b) => Ok(SqlValue::Blob(b.to_vec())),
                        ValueRef::Null => Ok(SqlValue::Null),
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.rows.push(values);
            }
            Ok(out)
        };
        run().map_err(|e| DbError::from_message(&e.to_string()))
    }
}
