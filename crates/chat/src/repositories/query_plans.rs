//! The query plan of every statement the repositories issue, and of every statement a trigger
//! runs: none reads a whole table, and a room search is answered from the search index. The plans
//! come from a fresh store without `ANALYZE` statistics, as in production, so the indexes must win
//! on their shape alone. (A statement's plan does not show the triggers a write fires: those are
//! read from the schema and checked one statement at a time.)

use std::cell::RefCell;
use std::fmt::Debug;

use serde_json::json;

use crate::access::Refusal;
use crate::auth::Caller;
use crate::changes::ChangeFeedRequest;
use crate::db::testing::MemoryDatabase;
use crate::db::{Database, DbError, Rows, SqlValue};
use crate::edits::Edit;
use crate::history::{MessagePageRequest, PageStart, SearchText};
use crate::ids::UserId;
use crate::long_poll::Wait;
use crate::messages::NewMessage;
use crate::migrations::ensure_current;
use crate::pagination::PageRequest;
use crate::reactions::Emoji;
use crate::repositories::changes::ChangeFeedRepository;
use crate::repositories::edits::EditRepository;
use crate::repositories::history::HistoryRepository;
use crate::repositories::invitations::{InvitationRepository, InviteOutcome};
use crate::repositories::memberships::{JoinOutcome, RoomUserRepository};
use crate::repositories::messages::{MessageRepository, SendOutcome};
use crate::repositories::reactions::ReactionRepository;
use crate::repositories::rooms::RoomRepository;
use crate::repositories::Guarded;
use crate::request::Query;
use crate::rooms::{NewRoom, Role, RoomChanges, RoomFilter};

const TABLES: [&str; 14] = [
    "rooms",
    "memberships",
    "invitations",
    "messages",
    "idempotency_keys",
    "room_search_docs",
    "room_search",
    "room_search_grams",
    "room_search_positions",
    "message_edits",
    "message_reactions",
    "message_reaction_counts",
    "message_search_rooms",
    "message_search",
];

/// The store, recording every statement run on it with its parameters.
struct RecordingDatabase {
    store: MemoryDatabase,
    statements: RefCell<Vec<(String, Vec<SqlValue>)>>,
}

impl Database for RecordingDatabase {
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<Rows, DbError> {
        self.statements.borrow_mut().push((sql.to_owned(), params.to_vec()));
        self.store.execute(sql, params)
    }
}

macro_rules! numbers {
    () => {
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
    };
}

/// Ids are UUIDs, as the repositories decode every row they read.
macro_rules! uuid {
    ($group:literal, $number:literal) => {
        concat!("printf('00000000-0000-4000-", $group, "-%012d', ", $number, ")")
    };
}

/// Background rows around the scenario's: 300 rooms (every third private), each with 20
/// members, 5 invitations and 20 messages (every seventh deleted), and 2,000 idempotency keys,
/// half of them expired.
const SEED: [&str; 5] = [
    concat!(
        "INSERT INTO rooms (id, name, name_key, description, description_key, is_private, created_by, created_at, \
           updated_at) ",
        numbers!(),
        "SELECT ",
        uuid!("8000", "i"),
        ", 'Room ' || i, 'room ' || i, 'About ' || i, 'about ' || i, i % 3 = 0, ",
        uuid!("9000", "(i + 1) % 200"),
        ", strftime('%Y-%m-%dT%H:%M:%fZ', '2024-01-01', '+' || i || ' minutes'), '2024-01-01' FROM n"
    ),
    concat!(
        "INSERT INTO memberships (room_id, user_id, role, display_name, joined_at, last_read_seq) ",
        numbers!(),
        "SELECT ",
        uuid!("8000", "r.i"),
        ", ",
        uuid!("9000", "(r.i + k.i) % 200"),
        ", CASE WHEN k.i = 1 THEN 'admin' ELSE 'member' END, 'User', '2024-01-02', 0 FROM n r JOIN n k ON k.i <= 20"
    ),
    concat!(
        "INSERT INTO invitations (room_id, user_id, invited_by, created_at) ",
        numbers!(),
        "SELECT ",
        uuid!("8000", "r.i"),
        ", ",
        uuid!("9000", "(r.i + 100 + k.i) % 200"),
        ", ",
        uuid!("9000", "(r.i + 1) % 200"),
        ", '2024-01-02' FROM n r JOIN n k ON k.i <= 5"
    ),
    concat!(
        "INSERT INTO messages (id, room_id, author_id, author_name, kind, content, created_at, deleted_at) ",
        numbers!(),
        "SELECT ",
        uuid!("a000", "r.i * 100 + k.i"),
        ", ",
        uuid!("8000", "r.i"),
        ", ",
        uuid!("9000", "(r.i + k.i) % 200"),
        ", 'User', 'text', 'message ' || k.i, '2024-01-03', CASE WHEN k.i % 7 = 0 THEN '2024-01-04' END \
         FROM n r JOIN n k ON k.i <= 20"
    ),
    "INSERT INTO idempotency_keys (user_id, room_id, idempotency_key, request_hash, message_id, created_at) \
     SELECT author_id, room_id, 'key-' || seq, 'digest', id, \
       CASE WHEN seq % 2 = 0 THEN '2000-01-01' ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END \
     FROM messages WHERE seq % 3 = 0",
];

#[test]
fn every_repository_statement_uses_an_index_for_its_filter() {
    let store = MemoryDatabase::new();
    ensure_current(&store).expect("migrations apply");
    for statement in SEED {
        store.execute(statement, &[]).unwrap_or_else(|e| panic!("{e}: {statement}"));
    }
    let db = RecordingDatabase { store, statements: RefCell::default() };
    call_every_repository_method(&db);

    let mut distinct: Vec<(String, Vec<SqlValue>)> = Vec::new();
    for (sql, params) in db.statements.take() {
        let verb = sql.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let reads_or_writes = ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&verb.as_str());
        if reads_or_writes && !distinct.iter().any(|(seen, _)| *seen == sql) {
            distinct.push((sql, params));
        }
    }
    // The repositories' 27 statements today: the scenario cannot pass by recording nothing.
    assert!(distinct.len() >= 27, "only {} distinct statements were recorded", distinct.len());
    let searches = distinct.iter().filter(|(sql, _)| sql.contains("room_search")).count();
    assert_eq!(searches, 2, "a search by trigrams and one by grams");
    let message_searches = distinct.iter().filter(|(sql, _)| sql.contains("message_search MATCH")).count();
    assert_eq!(message_searches, 2, "a history search by trigrams, older and newer pages");
    let failures: Vec<String> = distinct
        .iter()
        .filter_map(|(sql, params)| {
            let details = plan(&db.store, sql, params);
            let names = names_of_tables(sql);
            let scans = details.iter().any(|detail| reads_a_whole_table(detail, &names));
            let unindexed_search = sql.contains("room_search") && !searches_the_index(sql, &details, &names);
            let unranged_search = sql.contains("message_search MATCH") && !searches_the_rooms_range(&details);
            let short_search_on_rows = sql.contains("instr(m.content_key")
                && !details.iter().any(|detail| detail.contains("USING INDEX messages_room_live_text"));
            (scans || unindexed_search || unranged_search || short_search_on_rows)
                .then(|| format!("{sql}\n    {}", details.join("\n    ")))
        })
        .collect();
    assert!(failures.is_empty(), "{} statements read a whole table:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// The statements of every trigger, with `NEW.x` and `OLD.x` bound as parameters, as a write
/// runs them.
#[test]
fn every_trigger_statement_uses_an_index_for_its_filter() {
    let store = MemoryDatabase::new();
    ensure_current(&store).expect("migrations apply");
    for statement in SEED {
        store.execute(statement, &[]).unwrap_or_else(|e| panic!("{e}: {statement}"));
    }
    let triggers = store.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'", &[]).expect("triggers");
    let mut checked = 0;
    let mut failures = Vec::new();
    for trigger in triggers.iter() {
        let (name, sql): (String, String) = (trigger.get("name").unwrap(), trigger.get("sql").unwrap());
        let body = sql.split_once("BEGIN").and_then(|(_, body)| body.rsplit_once("END")).map_or("", |(body, _)| body);
        for statement in body.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (statement, bound) = with_row_values_as_parameters(statement);
            let details = plan(&store, &statement, &vec![SqlValue::Null; bound]);
            let names = names_of_tables(&statement);
            if details.iter().any(|detail| reads_a_whole_table(detail, &names)) {
                failures.push(format!("{name}: {statement}\n    {}", details.join("\n    ")));
            }
            checked += 1;
        }
    }
    // 0002's triggers and 0003's: the test cannot pass by finding none.
    assert!(checked >= 16, "only {checked} trigger statements");
    assert!(
        failures.is_empty(),
        "{} trigger statements read a whole table:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn plan(db: &MemoryDatabase, sql: &str, params: &[SqlValue]) -> Vec<String> {
    let plan = db.execute(&format!("EXPLAIN QUERY PLAN {sql}"), params).expect("a query plan");
    plan.iter().map(|row| row.get("detail").expect("a plan detail")).collect()
}

/// `statement` with each `NEW.column` and `OLD.column` replaced by `?`, and how many there are.
fn with_row_values_as_parameters(statement: &str) -> (String, usize) {
    let mut out = String::with_capacity(statement.len());
    let mut bound = 0;
    let mut rest = statement;
    while let Some(at) = rest.find("NEW.").into_iter().chain(rest.find("OLD.")).min() {
        out.push_str(&rest[..at]);
        let column = &rest[at + 4..];
        let end = column.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(column.len());
        out.push('?');
        bound += 1;
        rest = &column[end..];
    }
    out.push_str(rest);
    (out, bound)
}

/// `SCAN x` reads every row of `x`; `SCAN x USING [COVERING] INDEX i` walks an index in order
/// (`ORDER BY ... LIMIT`), and `SEARCH` seeks. A virtual table (FTS5) is read in full when SQLite
/// hands it no constraint: `SCAN x VIRTUAL TABLE INDEX 0:` with nothing after the colon.
fn reads_a_whole_table(detail: &str, table_names: &[&str]) -> bool {
    detail.strip_prefix("SCAN ").is_some_and(|scanned| {
        let unconstrained = match scanned.split_once(" VIRTUAL TABLE INDEX ") {
            Some((_, index)) => index.split_once(':').is_none_or(|(_, constraints)| constraints.is_empty()),
            None => !scanned.contains("USING"),
        };
        unconstrained && scanned.split_whitespace().next().is_some_and(|name| table_names.contains(&name))
    })
}

/// A room search finds its rooms on the search index: a search of 3 characters or more by a
/// trigram `MATCH`, a shorter one by a seek of the grams. And it walks no table, not even along
/// an index, as the listing without a search walks the newest rooms: a search must not read every
/// live room until its page is full.
fn searches_the_index(sql: &str, details: &[String], table_names: &[&str]) -> bool {
    let index = if sql.contains(" MATCH ") {
        "SCAN room_search VIRTUAL TABLE INDEX 0:M"
    } else {
        "SEARCH room_search_grams USING PRIMARY KEY (gram=?)"
    };
    let walks = details.iter().any(|detail| {
        detail.strip_prefix("SCAN ").is_some_and(|scanned| {
            !scanned.contains("VIRTUAL TABLE")
                && scanned.split_whitespace().next().is_some_and(|name| table_names.contains(&name))
        })
    });
    details.iter().any(|detail| detail.starts_with(index)) && !walks
}

/// A message search reads the trigram index within its room's rowid range (both bounds passed
/// to FTS5: `><`), in the page's order, so it never reads other rooms' matches.
fn searches_the_rooms_range(details: &[String]) -> bool {
    details.iter().any(|detail| detail.starts_with("SCAN s VIRTUAL TABLE INDEX") && detail.ends_with(":M1><"))
}

/// The names a plan of `sql` may give the schema's tables: the tables and every alias `sql` gives
/// one (`FROM rooms r`, `JOIN memberships AS me`). Any other scanned name is a derived table
/// (`(SELECT ...) t`), a subquery or a constant row: rows already filtered, not a table. Words
/// after a table that are no alias (`WHERE`, `SET`) are collected too, harmlessly.
fn names_of_tables(sql: &str) -> Vec<&str> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let mut names = TABLES.to_vec();
    for (i, _) in words.iter().enumerate().filter(|(_, word)| TABLES.contains(word)) {
        let alias = match words.get(i + 1) {
            Some(next) if next.eq_ignore_ascii_case("AS") => words.get(i + 2),
            next => next,
        };
        if let Some(alias) = alias {
            let end = alias.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(alias.len());
            if end > 0 {
                names.push(&alias[..end]);
            }
        }
    }
    names
}

/// Every public repository method, and each refusal it explains, once at least.
fn call_every_repository_method(db: &dyn Database) {
    let (ada, bob, cat, eve) = (caller("Ada"), caller("Bob"), caller("Cat"), caller("Eve"));
    let (rooms, members) = (RoomRepository::new(db), RoomUserRepository::new(db));
    let (invitations, messages) = (InvitationRepository::new(db), MessageRepository::new(db));
    let page = PageRequest { page: 1, limit: 20 };

    let lobby = done(rooms.create(&new_room("Lobby", false), &ada)).id;
    let vault = done(rooms.create(&new_room("Vault", true), &ada)).id;
    let attic = done(rooms.create(&new_room("Attic", false), &ada)).id;
    assert_eq!(refused(rooms.create(&new_room("lobby", false), &bob)), Refusal::RoomNameTaken);
    let rename = room_changes(json!({"name": "Main hall", "description": "Everyone"}));
    done(rooms.update(lobby, ada.user_id, &rename));
    assert_eq!(refused(rooms.update(lobby, bob.user_id, &rename)), Refusal::Forbidden);
    done(rooms.soft_delete(attic, ada.user_id));
    assert_eq!(refused(rooms.soft_delete(vault, bob.user_id)), Refusal::NotFound);
    assert!(rooms.find(lobby, bob.user_id).unwrap().is_some());

    assert!(matches!(members.join(lobby, &bob).unwrap(), Some(JoinOutcome::Joined(_))));
    assert!(matches!(members.join(lobby, &bob).unwrap(), Some(JoinOutcome::AlreadyMember(_))));
    assert_eq!(members.join(vault, &eve).unwrap(), None);
    done(members.set_role(lobby, bob.user_id, ada.user_id, Role::Admin));
    assert_eq!(refused(members.set_role(lobby, ada.user_id, eve.user_id, Role::Member)), Refusal::Forbidden);
    assert!(members.access(lobby, eve.user_id).unwrap().is_some_and(|access| !access.is_member()));
    let bob_seen_by_ada = members.access_with_target(lobby, ada.user_id, bob.user_id).unwrap().expect("the lobby");
    assert_eq!(bob_seen_by_ada.target_role, Some(Role::Admin));
    assert_eq!(members.members(lobby, page).unwrap().1, 2);

    assert!(matches!(done(invitations.invite(vault, cat.user_id, ada.user_id)), InviteOutcome::Invited(_)));
    assert!(matches!(done(invitations.invite(vault, cat.user_id, ada.user_id)), InviteOutcome::AlreadyInvited(_)));
    assert_eq!(refused(invitations.invite(lobby, bob.user_id, ada.user_id)), Refusal::AlreadyMember);
    done(invitations.invite(vault, eve.user_id, ada.user_id));
    assert_eq!(invitations.list(vault, page).unwrap().1, 2);
    assert_eq!(refused(invitations.revoke(vault, eve.user_id, bob.user_id)), Refusal::NotFound);
    done(invitations.revoke(vault, eve.user_id, ada.user_id));

    let listings = [
        ("", &eve),
        ("search=hall", &eve),
        ("search=ha", &eve),
        ("search=m", &eve),
        ("joined=true", &ada),
        ("joined=true&search=vau", &ada),
        ("invited=true", &cat),
        ("invited=true&joined=true", &cat),
    ];
    let totals = listings.map(|(query, who)| {
        let filter = RoomFilter::parse(&Query::parse(query), who.user_id).expect("a room filter");
        rooms.find_all(&filter, page).unwrap().1
    });
    assert_eq!(totals, [201, 1, 1, 201, 2, 1, 1, 0]);
    assert!(matches!(members.join(vault, &cat).unwrap(), Some(JoinOutcome::Joined(_))));

    let hello = text_message("hello");
    let SendOutcome::Created(first) = done(messages.create(lobby, &ada, &hello, None)) else { panic!("not created") };
    assert!(matches!(done(messages.create(lobby, &bob, &hello, Some("key-1"))), SendOutcome::Created(_)));
    assert!(matches!(done(messages.create(lobby, &bob, &hello, Some("key-1"))), SendOutcome::Replayed(_)));
    let conflict = messages.create(lobby, &bob, &text_message("bye"), Some("key-1"));
    assert_eq!(refused(conflict), Refusal::IdempotencyConflict);
    assert_eq!(refused(messages.create(lobby, &eve, &hello, None)), Refusal::NotMember);
    assert_eq!(refused(messages.create(lobby, &eve, &hello, Some("key-2"))), Refusal::NotMember);
    let history = HistoryRepository::new(db);
    let filtered = |start, search: Option<&str>, reply_to| MessagePageRequest {
        start,
        limit: 10,
        search: search.map(|text| SearchText::parse(text).expect("a search")),
        reply_to,
        ..MessagePageRequest::newest(10)
    };
    let newest = done(history.read_page(lobby, ada.user_id, &MessagePageRequest::newest(1)));
    assert!(newest.has_older);
    for start in [PageStart::Before(newest.messages[0].seq), PageStart::After(first.seq)] {
        for (search, reply_to) in [(None, Some(first.id)), (Some("ll"), None), (Some("hello"), Some(first.id))] {
            done(history.read_page(lobby, ada.user_id, &filtered(start, search, reply_to)));
        }
    }
    assert_eq!(
        done(history.read_page(lobby, ada.user_id, &filtered(PageStart::After(first.seq), None, None))).messages.len(),
        1
    );
    let found = done(history.read_page(lobby, ada.user_id, &filtered(PageStart::Newest, Some("HELLO"), None)));
    assert_eq!(found.messages.len(), 2, "the two hellos sent (the third send replayed the second)");
    let (edits, reactions) = (EditRepository::new(db), ReactionRepository::new(db));
    let edit = |content: serde_json::Value| {
        Edit::parse(serde_json::from_value(json!({ "content": content })).unwrap()).unwrap()
    };
    done(edits.edit(lobby, first.id, ada.user_id, &edit(json!("hello again"))));
    done(edits.edit(lobby, first.id, ada.user_id, &edit(json!("hello again"))));
    assert_eq!(refused(edits.edit(lobby, first.id, ada.user_id, &edit(json!(" ")))), Refusal::EmptyTextContent);
    assert_eq!(refused(edits.edit(lobby, first.id, bob.user_id, &edit(json!("mine?")))), Refusal::Forbidden);
    assert_eq!(done(edits.earlier_versions(lobby, first.id, ada.user_id, page)).1, 1);
    assert_eq!(refused(edits.earlier_versions(lobby, first.id, eve.user_id, page)), Refusal::NotMember);
    let thumbs = Emoji::parse("%F0%9F%91%8D").unwrap();
    assert_eq!(done(reactions.add(lobby, first.id, ada.user_id, &thumbs)).reactions.len(), 1);
    assert_eq!(done(reactions.add(lobby, first.id, ada.user_id, &thumbs)).reactions[0].count, 1);
    assert_eq!(refused(reactions.add(lobby, first.id, eve.user_id, &thumbs)), Refusal::NotMember);
    done(reactions.remove(lobby, first.id, ada.user_id, &thumbs));
    done(reactions.remove(lobby, first.id, ada.user_id, &thumbs));
    assert!(messages.find(lobby, first.id).unwrap().is_some());
    assert_eq!(refused(messages.soft_delete(lobby, first.id, eve.user_id)), Refusal::Forbidden);
    done(messages.soft_delete(lobby, first.id, ada.user_id));
    assert_eq!(refused(reactions.add(lobby, first.id, ada.user_id, &thumbs)), Refusal::MessageDeleted);
    assert_eq!(refused(edits.edit(lobby, first.id, ada.user_id, &edit(json!("back")))), Refusal::MessageDeleted);
    let feed = ChangeFeedRepository::new(db);
    let changes = |since| ChangeFeedRequest { since, limit: 10, wait: Wait::default() };
    let now = done(feed.read(lobby, ada.user_id, &changes(None)));
    let all = done(feed.read(lobby, ada.user_id, &changes(Some(0))));
    assert_eq!(all.messages.last().map(|m| m.id), Some(first.id), "the message deleted last changed last");
    assert_eq!(all.next_position, now.next_position);
    assert_eq!(feed.latest_change(lobby).unwrap(), now.next_position);
    assert_eq!(refused(feed.read(lobby, eve.user_id, &changes(Some(0)))), Refusal::NotMember);

    assert_eq!(refused(members.leave(lobby, eve.user_id)), Refusal::LeavingWithoutMembership);
    done(members.leave(lobby, bob.user_id));
    assert_eq!(refused(members.remove(lobby, ada.user_id, ada.user_id)), Refusal::LastAdmin);
    done(members.remove(vault, cat.user_id, ada.user_id));
}

fn done<T: Debug>(outcome: Guarded<T>) -> T {
    outcome.expect("no store failure").expect("not refused")
}

fn refused<T: Debug>(outcome: Guarded<T>) -> Refusal {
    outcome.expect("no store failure").expect_err("refused")
}

fn caller(name: &str) -> Caller {
    Caller { user_id: UserId::new_random(), display_name: Some(name.into()) }
}

fn new_room(name: &str, is_private: bool) -> NewRoom {
    let body = json!({"name": name, "isPrivate": is_private});
    NewRoom::parse(serde_json::from_value(body).expect("a room body")).expect("a valid room")
}

fn room_changes(body: serde_json::Value) -> RoomChanges {
    RoomChanges::parse(serde_json::from_value(body).expect("an update body")).expect("valid changes")
}

fn text_message(content: &str) -> NewMessage {
    NewMessage::parse(serde_json::from_value(json!({"content": content})).expect("a message body"))
        .expect("a valid message")
}
