//! Schema migrations, applied by the app itself: there is no start-up hook in Spin or SpinKube
//! that could run them, and no manual step is wanted.
//!
//! When they run:
//! - `GET /ready` calls [`ensure_current`], so on Kubernetes the readiness probe migrates a new
//!   store before any replica takes traffic;
//! - a request that meets a missing table or column (`SchemaOutdated`) migrates and is retried once
//!   ([`crate::http`]), so a fresh `spin up` needs no step either.
//!
//! Neither adds a statement to a normal request. Concurrent replicas are safe: the work happens
//! inside `BEGIN IMMEDIATE`, which lets one writer in at a time, and the version is read again
//! inside the transaction, so the second replica finds nothing left to do. DDL is transactional in
//! SQLite and libSQL, so a migration applies completely or not at all.

use crate::db::{transaction, Database, DbError, SqlValue};

/// One numbered, forward-only migration from `migrations/`.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. The files in `migrations/` are the single source of the schema.
pub const MIGRATIONS: &[Migration] =
    &[Migration { version: 1, name: "0001_init", sql: include_str!("../../../migrations/0001_init.sql") }];

/// The schema version this build of the app expects.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, \
     applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))";
const SELECT_VERSION: &str = "SELECT coalesce(max(version), 0) AS version FROM schema_migrations";
const INSERT_VERSION: &str = "INSERT INTO schema_migrations (version, name) VALUES (?, ?)";

/// The store's schema version; 0 for a store never migrated.
pub fn current_version(db: &dyn Database) -> Result<i64, DbError> {
    match db.execute(SELECT_VERSION, &[]) {
        Ok(rows) => rows.first().map_or(Ok(0), |row| row.get("version")),
        Err(DbError::SchemaOutdated(_)) => Ok(0),
        Err(error) => Err(error),
    }
}

/// Brings the schema to [`latest_version`] and returns the version the store is at. Costs one
/// read when the schema is already current. A store ahead of this build (during a rollback) is
/// left alone: migrations are forward-only and additive.
pub fn ensure_current(db: &dyn Database) -> Result<i64, DbError> {
    let version = current_version(db)?;
    if version >= latest_version() {
        return Ok(version);
    }
    transaction(db, |tx| {
        tx.execute(CREATE_SCHEMA_MIGRATIONS, &[])?;
        let applied = current_version(tx)?;
        let mut version = applied;
        for migration in MIGRATIONS.iter().filter(|m| m.version > applied) {
            for statement in split_statements(migration.sql) {
                tx.execute(statement, &[])?;
            }
            tx.execute(INSERT_VERSION, &[SqlValue::Integer(migration.version), migration.name.into()])?;
            version = migration.version;
        }
        Ok(version)
    })
}

/// Splits a migration file into single statements on `;`, skipping `;` inside quotes and
/// comments. Triggers (whose bodies contain `;`) are not supported and not used.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b';' => {
                statements.push(&sql[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    statements.push(&sql[start.min(sql.len())..]);
    statements.into_iter().map(strip_comments_and_space).filter(|s| !s.is_empty()).collect()
}

/// Trims leading whitespace and whole-line `--` comments, so comment-only pieces vanish.
fn strip_comments_and_space(mut statement: &str) -> &str {
    loop {
        statement = statement.trim();
        match statement.strip_prefix("--") {
            Some(rest) => statement = rest.split_once('\n').map_or("", |(_, after)| after),
            None => return statement,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::MemoryDatabase;

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "-- a; comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n/* b; */ INSERT INTO a VALUES ('--;');\n-- trailing\n";
        let statements = split_statements(sql);
        assert_eq!(statements, vec!["CREATE TABLE a (x TEXT DEFAULT ';')", "/* b; */ INSERT INTO a VALUES ('--;')"]);
    }

    #[test]
    fn migration_files_hold_no_triggers() {
        for migration in MIGRATIONS {
            for statement in split_statements(migration.sql) {
                assert!(!statement.to_uppercase().contains("CREATE TRIGGER"), "{}", migration.name);
            }
        }
    }

    #[test]
    fn migrates_a_fresh_store_and_is_idempotent() {
        let db = MemoryDatabase::new();
        assert_eq!(current_version(&db).unwrap(), 0);
        assert_eq!(ensure_current(&db).unwrap(), latest_version());
        assert_eq!(ensure_current(&db).unwrap(), latest_version());
        let rows = db.execute("SELECT count(*) AS n FROM schema_migrations", &[]).unwrap();
        assert_eq!(rows.first().unwrap().get::<i64>("n").unwrap(), MIGRATIONS.len() as i64);
        for table in ["rooms", "memberships", "invitations", "messages", "idempotency_keys"] {
            db.execute(&format!("SELECT count(*) AS n FROM {table}"), &[]).unwrap();
        }
    }

    #[test]
    fn every_foreign_key_has_an_index() {
        let db = MemoryDatabase::new();
        ensure_current(&db).unwrap();
        let tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'", &[]).unwrap();
        for table in tables.iter() {
            let table: &str = table.get("name").unwrap();
            let keys = db.execute(&format!("SELECT \"from\" FROM pragma_foreign_key_list('{table}')"), &[]).unwrap();
            for key in keys.iter() {
                let column: &str = key.get("from").unwrap();
                let leading = db
                    .execute(
                        "SELECT count(*) AS n FROM pragma_index_list(?1) AS l \
                         JOIN pragma_index_info(l.name) AS i ON i.seqno = 0 WHERE i.name = ?2",
                        &[table.into(), column.into()],
                    )
                    .unwrap();
                assert!(leading.first().unwrap().get::<i64>("n").unwrap() > 0, "{table}.{column} has no index");
            }
        }
    }
}
