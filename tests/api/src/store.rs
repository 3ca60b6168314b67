//! Direct access to the app's store for test set-up and for checking what was (not) written:
//! the SQLite file under the test host and `spin up`, or the libSQL server over its HTTP API
//! (Hrana over HTTP, `POST /v2/pipeline`) in the SpinKube topology. Parameters and results are
//! JSON values: strings are text, integers are integers, `null` is NULL.

use std::path::PathBuf;

use serde_json::{json, Value};

/// Where the app under test keeps its data.
#[derive(Debug, Clone)]
pub enum Store {
    File(PathBuf),
    Sqld { address: String },
}

impl Store {
    /// The rows of `sql`, each a vector of column values.
    #[track_caller]
    pub fn query(&self, sql: &str, params: &[Value]) -> Vec<Vec<Value>> {
        match self {
            Store::File(path) => {
                let db = open(path);
                let mut statement = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let columns = statement.column_count();
                let rows = statement
                    .query_map(rusqlite::params_from_iter(params.iter().map(to_sqlite)), |row| {
                        (0..columns).map(|i| row.get_ref(i).map(from_sqlite)).collect::<Result<Vec<_>, _>>()
                    })
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Store::Sqld { address } => {
                let results = pipeline(address, &[(sql, params.to_vec())]);
                rows_of(&results[0])
            }
        }
    }

    /// The single integer `sql` answers (`SELECT count(*) ...`).
    #[track_caller]
    pub fn count(&self, sql: &str, params: &[Value]) -> i64 {
        let rows = self.query(sql, params);
        rows.first().and_then(|row| row.first()).and_then(Value::as_i64).unwrap_or_else(|| panic!("{sql}: {rows:?}"))
    }

    /// Runs one statement; answers the number of rows it changed.
    #[track_caller]
    pub fn execute(&self, sql: &str, params: &[Value]) -> u64 {
        match self {
            Store::File(path) => open(path)
                .execute(sql, rusqlite::params_from_iter(params.iter().map(to_sqlite)))
                .unwrap_or_else(|e| panic!("{sql}: {e}")) as u64,
            Store::Sqld { address } => {
                let results = pipeline(address, &[(sql, params.to_vec())]);
                results[0]["affected_row_count"].as_u64().unwrap_or_default()
            }
        }
    }

    /// Runs all `statements` in one transaction (fast bulk set-up).
    #[track_caller]
    pub fn execute_in_transaction(&self, statements: &[(&str, Vec<Value>)]) {
        match self {
            Store::File(path) => {
                let mut db = open(path);
                let tx = db.transaction().expect("BEGIN");
                for (sql, params) in statements {
                    tx.execute(sql, rusqlite::params_from_iter(params.iter().map(to_sqlite)))
                        .unwrap_or_else(|e| panic!("{sql}: {e}"));
                }
                tx.commit().expect("COMMIT");
            }
            Store::Sqld { address } => {
                let mut all = vec![("BEGIN IMMEDIATE", Vec::new())];
                all.extend(statements.iter().cloned());
                all.push(("COMMIT", Vec::new()));
                pipeline(address, &all);
            }
        }
    }
}

fn open(path: &PathBuf) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    db.busy_timeout(std::time::Duration::from_secs(5)).expect("busy_timeout");
    db
}

fn to_sqlite(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Null => rusqlite::types::Value::Null,
        Value::Bool(b) => rusqlite::types::Value::Integer(i64::from(*b)),
        Value::Number(n) if n.is_i64() => rusqlite::types::Value::Integer(n.as_i64().unwrap_or_default()),
        Value::Number(n) => rusqlite::types::Value::Real(n.as_f64().unwrap_or_default()),
        Value::String(s) => rusqlite::types::Value::Text(s.clone()),
        other => rusqlite::types::Value::Text(other.to_string()),
    }
}

fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!(b),
    }
}

fn to_hrana(value: &Value) -> Value {
    match value {
        Value::Null => json!({"type": "null"}),
        Value::Bool(b) => json!({"type": "integer", "value": i64::from(*b).to_string()}),
        Value::Number(n) if n.is_i64() => json!({"type": "integer", "value": n.to_string()}),
        Value::Number(n) => json!({"type": "float", "value": n.as_f64()}),
        Value::String(s) => json!({"type": "text", "value": s}),
        other => json!({"type": "text", "value": other.to_string()}),
    }
}

fn from_hrana(value: &Value) -> Value {
    match value["type"].as_str() {
        Some("integer") => {
            value["value"].as_str().and_then(|v| v.parse::<i64>().ok()).map_or(Value::Null, |i| json!(i))
        }
        Some("float") => value["value"].clone(),
        Some("text") => value["value"].clone(),
        _ => Value::Null,
    }
}

fn rows_of(result: &Value) -> Vec<Vec<Value>> {
    let rows = result["rows"].as_array().cloned().unwrap_or_default();
    rows.iter().map(|row| row.as_array().into_iter().flatten().map(from_hrana).collect()).collect()
}

/// Sends `statements` as one Hrana pipeline on one stream; panics on any error. Answers each
/// statement's `result` object.
#[track_caller]
fn pipeline(address: &str, statements: &[(&str, Vec<Value>)]) -> Vec<Value> {
    let mut requests: Vec<Value> = statements
        .iter()
        .map(|(sql, params)| {
            json!({"type": "execute", "stmt": {"sql": sql, "args": params.iter().map(to_hrana).collect::<Vec<_>>()}})
        })
        .collect();
    requests.push(json!({"type": "close"}));
    let (status, body) = crate::client::post_json(address, "/v2/pipeline", &json!({"requests": requests}))
        .unwrap_or_else(|e| panic!("sqld at {address}: {e}"));
    let results = body["results"].as_array().unwrap_or_else(|| panic!("sqld answered {status}: {body}"));
    results
        .iter()
        .zip(statements)
        .map(|(result, (sql, _))| match result["type"].as_str() {
            Some("ok") => result["response"]["result"].clone(),
            _ => panic!("{sql}: {}", result["error"]),
        })
        .collect()
}
