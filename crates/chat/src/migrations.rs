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

/// One numbered, forward-only migration from `migrations/`, and the data work SQL cannot do,
/// run right after its statements in the same transaction.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
    pub then: Option<DataMigration>,
}

/// Data work of a migration, in its transaction.
pub type DataMigration = fn(&dyn Database) -> Result<(), DbError>;

/// Every migration, in order. The files in `migrations/` are the single source of the schema.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "0001_init", sql: include_str!("../../../migrations/0001_init.sql"), then: None },
    Migration {
        version: 2,
        name: "0002_counters_and_indexes",
        sql: include_str!("../../../migrations/0002_counters_and_indexes.sql"),
        then: None,
    },
    Migration {
        version: 3,
        name: "0003_room_search_index",
        sql: include_str!("../../../migrations/0003_room_search_index.sql"),
        then: None,
    },
    Migration {
        version: 4,
        name: "0004_messages_v1_2",
        sql: include_str!("../../../migrations/0004_messages_v1_2.sql"),
        then: Some(fold_message_contents),
    },
    Migration {
        version: 5,
        name: "0005_change_feed",
        sql: include_str!("../../../migrations/0005_change_feed.sql"),
        then: None,
    },
];

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
    use_write_ahead_log(db);
    transaction(db, |tx| {
        tx.execute(CREATE_SCHEMA_MIGRATIONS, &[])?;
        let applied = current_version(tx)?;
        let mut version = applied;
        for migration in MIGRATIONS.iter().filter(|m| m.version > applied) {
            for statement in split_statements(migration.sql) {
                tx.execute(statement, &[])?;
            }
            if let Some(then) = migration.then {
                then(tx)?;
            }
            tx.execute(INSERT_VERSION, &[SqlValue::Integer(migration.version), migration.name.into()])?;
            version = migration.version;
        }
        Ok(version)
    })
}

/// Live messages sent before version 4, in batches, oldest first.
const UNFOLDED_MESSAGES: &str = "SELECT seq, content FROM messages \
     WHERE seq > ?1 AND content IS NOT NULL AND content_key IS NULL AND deleted_at IS NULL ORDER BY seq LIMIT 500";

/// Sets a batch's folded contents, given as a JSON array of `[seq, content_key]`.
const SET_CONTENT_KEYS: &str = "UPDATE messages SET content_key = batch.value ->> 1 \
     FROM json_each(?1) AS batch WHERE messages.seq = batch.value ->> 0";

/// Version 4: folds the content of the live messages already sent, as a send folds a new one
/// ([`crate::text::fold_case`]), so search finds them too (the triggers index them).
fn fold_message_contents(db: &dyn Database) -> Result<(), DbError> {
    let mut after = 0_i64;
    loop {
        let rows = db.execute(UNFOLDED_MESSAGES, &[SqlValue::Integer(after)])?;
        let mut batch = Vec::new();
        for row in rows.iter() {
            let (seq, content): (i64, String) = (row.get("seq")?, row.get("content")?);
            batch.push(serde_json::json!([seq, crate::text::fold_case(&content)]));
            after = seq;
        }
        if batch.is_empty() {
            return Ok(());
        }
        db.execute(SET_CONTENT_KEYS, &[serde_json::Value::Array(batch).to_string().into()])?;
    }
}

/// Switches a local SQLite file to write-ahead logging, once, when the store is migrated: Spin
/// leaves a new file in the rollback journal, where readers and the writer block each other and
/// a write on most requests collapses under load (SPIN-FACTS.md). WAL persists in the file.
/// libSQL is already in WAL and refuses the `=WAL` form, so the mode is read first and only a
/// store that answers something else is switched; `PRAGMA` cannot run inside a transaction, so
/// this runs before the migration's. A store that refuses keeps its mode: it is slower, not wrong.
fn use_write_ahead_log(db: &dyn Database) {
    let mode = db.execute("PRAGMA journal_mode", &[]).and_then(|rows| match rows.first() {
        Some(row) => row.get::<String>("journal_mode"),
        None => Ok(String::new()),
    });
    let switched = match mode {
        Ok(mode) if mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory") => return,
        Ok(_) => db.execute("PRAGMA journal_mode=WAL", &[]).map(|_| ()),
        Err(error) => Err(error),
    };
    if let Err(error) = switched {
        crate::log::warn(&format!("journal mode left unchanged: {error}"));
    }
}

/// Splits a migration file into single statements on `;`, skipping `;` inside quotes, comments
/// and the body of a `CREATE TRIGGER` (which ends at `END;`).
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
            b';' if !inside_trigger_body(&sql[start..i]) => {
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

/// A statement so far that creates a trigger and has not reached its final `END`.
fn inside_trigger_body(statement: &str) -> bool {
    let words: Vec<String> = strip_comments_and_space(statement)
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    let creates_trigger = words.first().is_some_and(|w| w == "CREATE")
        && (words.get(1).is_some_and(|w| w == "TRIGGER")
            || words.get(1).is_some_and(|w| w == "TEMP" || w == "TEMPORARY")
                && words.get(2).is_some_and(|w| w == "TRIGGER"));
    let last_word = statement.trim_end().rsplit(|c: char| !c.is_ascii_alphanumeric() && c != '_').next().unwrap_or("");
    creates_trigger && !last_word.eq_ignore_ascii_case("END")
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
    fn a_trigger_body_stays_one_statement() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a\nBEGIN\n  UPDATE b SET n = n + 1;\n  UPDATE c SET n = 0;\nEND;\nDROP INDEX x;";
        let statements = split_statements(sql);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(statements[0].ends_with("END"), "{}", statements[0]);
        assert_eq!(statements[1], "DROP INDEX x");
    }

    #[test]
    fn every_migration_statement_is_exactly_one_statement() {
        let db = MemoryDatabase::new();
        for migration in MIGRATIONS {
            for statement in split_statements(migration.sql) {
                // rusqlite refuses a string holding more than one statement.
                db.execute(statement, &[]).unwrap_or_else(|e| panic!("{}: {e}: {statement}", migration.name));
            }
        }
    }

    /// A store migrated by the first `version` migrations only, as an older build left it.
    fn store_at_version(version: usize) -> MemoryDatabase {
        let db = MemoryDatabase::new();
        db.execute(CREATE_SCHEMA_MIGRATIONS, &[]).unwrap();
        for migration in &MIGRATIONS[..version] {
            for statement in split_statements(migration.sql) {
                db.execute(statement, &[]).unwrap();
            }
            db.execute(INSERT_VERSION, &[SqlValue::Integer(migration.version), migration.name.into()]).unwrap();
        }
        db
    }

    #[test]
    fn version_2_counts_the_members_and_public_rooms_a_version_1_store_already_has() {
        let db = store_at_version(1);
        let room = |id: &str, private: i64, deleted: Option<&str>| {
            db.execute(
                "INSERT INTO rooms (id, name, name_key, is_private, created_by, created_at, updated_at, deleted_at) \
                 VALUES (?1, ?1, ?1, ?2, 'u', 't', 't', ?3)",
                &[id.into(), SqlValue::Integer(private), deleted.into()],
            )
            .unwrap();
        };
        room("public", 0, None);
        room("private", 1, None);
        room("gone", 0, Some("t"));
        for user in ["a", "b", "c"] {
            db.execute(
                "INSERT INTO memberships (room_id, user_id, role, joined_at) VALUES ('public', ?1, 'member', 't')",
                &[user.into()],
            )
            .unwrap();
        }
        assert_eq!(ensure_current(&db).unwrap(), latest_version());
        let counted = |sql: &str| db.execute(sql, &[]).unwrap().first().unwrap().get::<i64>("n").unwrap();
        assert_eq!(counted("SELECT member_count AS n FROM rooms WHERE id = 'public'"), 3);
        assert_eq!(counted("SELECT live_public AS n FROM room_totals"), 1);
    }

    #[test]
    fn version_3_indexes_for_search_the_live_rooms_a_version_2_store_already_has() {
        let db = store_at_version(2);
        let room = |id: &str, name_key: &str, description_key: Option<&str>, deleted: Option<&str>| {
            db.execute(
                "INSERT INTO rooms (id, name, name_key, description_key, created_by, created_at, updated_at, deleted_at) \
                 VALUES (?1, ?2, ?2, ?3, 'u', 't', 't', ?4)",
                &[id.into(), name_key.into(), description_key.into(), deleted.into()],
            )
            .unwrap();
        };
        room("lobby", "lobby", Some("où l'on parle"), None);
        room("gone", "gone room", None, Some("t"));
        room("nul", "nul\0after", None, None);
        assert_eq!(ensure_current(&db).unwrap(), latest_version());
        let counted = |sql: &str| db.execute(sql, &[]).unwrap().first().unwrap().get::<i64>("n").unwrap();
        assert_eq!(counted("SELECT count(*) AS n FROM room_search_docs"), 2, "the live rooms");
        let found = |sql: &str, params: &[SqlValue]| {
            let rows = db.execute(sql, params).unwrap();
            let mut ids: Vec<String> = rows.iter().map(|row| row.get("room_id").unwrap()).collect();
            ids.sort();
            ids
        };
        let by_trigrams = "SELECT room_id FROM room_search_docs WHERE doc IN \
             (SELECT rowid FROM room_search WHERE room_search MATCH '\"où l\"')";
        assert_eq!(found(by_trigrams, &[]), ["lobby"]);
        let by_gram = |gram: &str| {
            let sql =
                "SELECT room_id FROM room_search_docs WHERE doc IN (SELECT doc FROM room_search_grams WHERE gram = ?1)";
            found(sql, &[gram.into()])
        };
        assert_eq!(by_gram("o"), ["lobby"], "not the deleted room");
        assert_eq!(by_gram("ù"), ["lobby"]);
        assert_eq!(by_gram("'o"), ["lobby"]);
        assert_eq!(by_gram("nu"), ["nul"]);
        assert_eq!(by_gram(""), ["nul"], "a key holding U+0000 is checked on every search");
        assert!(by_gram("ft").is_empty(), "indexed only up to U+0000");
        assert!(by_gram("g").is_empty(), "nothing of the deleted room");
    }

    #[test]
    fn version_4_folds_and_indexes_the_live_messages_a_version_3_store_already_has() {
        let db = store_at_version(3);
        db.execute(
            "INSERT INTO rooms (id, name, name_key, created_by, created_at, updated_at) VALUES ('r', 'R', 'r', 'u', 't', 't')",
            &[],
        )
        .unwrap();
        // 1 201 messages: more than two batches of the fold; every 100th deleted, one without content.
        db.execute(
            "INSERT INTO messages (id, room_id, author_id, kind, content, created_at, deleted_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) \
             SELECT 'm' || i, 'r', 'u', 'text', 'Straße Nummer ' || i, 't', CASE WHEN i % 100 = 0 THEN 't' END FROM n",
            &[],
        )
        .unwrap();
        db.execute(
            "INSERT INTO messages (id, room_id, author_id, kind, created_at) VALUES ('f', 'r', 'u', 'file', 't')",
            &[],
        )
        .unwrap();
        assert_eq!(ensure_current(&db).unwrap(), latest_version());
        let counted = |sql: &str| db.execute(sql, &[]).unwrap().first().unwrap().get::<i64>("n").unwrap();
        assert_eq!(
            counted("SELECT count(*) AS n FROM messages WHERE content_key = lower(replace(content, 'ß', 'ss'))"),
            1188
        );
        assert_eq!(counted("SELECT count(*) AS n FROM messages WHERE content_key IS NULL"), 13, "deleted, no content");
        assert_eq!(
            counted("SELECT count(*) AS n FROM message_search WHERE message_search MATCH '\"strasse nummer 12\"'"),
            11,
            "12, 120-129"
        );
        assert_eq!(counted("SELECT count(*) AS n FROM message_search"), 1188, "the live messages with content");
        assert_eq!(counted("SELECT max(number) AS n FROM message_search_rooms"), 1, "one room, one number");
    }

    #[test]
    fn a_migrated_file_is_in_write_ahead_log_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = MemoryDatabase::open_file(&dir.path().join("chat.db"));
        ensure_current(&db).unwrap();
        let rows = db.execute("PRAGMA journal_mode", &[]).unwrap();
        assert_eq!(rows.first().unwrap().get::<String>("journal_mode").unwrap(), "wal");
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
