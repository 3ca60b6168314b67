//! Room search answers exactly what the folded search as a literal substring of a live room's
//! folded name or description answers (`instr`, as the listing did before migration 0003 indexed
//! it), for searches of 1, 2 and 3 or more characters, through renames, new descriptions,
//! privacy changes and deletes; and the index triggers keep the index equal to the rooms.

use std::collections::BTreeSet;

use serde_json::json;

use crate::access::Refusal;
use crate::auth::Caller;
use crate::db::testing::MemoryDatabase;
use crate::db::{Database, SqlValue};
use crate::ids::{RoomId, UserId};
use crate::migrations::ensure_current;
use crate::pagination::PageRequest;
use crate::repositories::invitations::InvitationRepository;
use crate::repositories::rooms::RoomRepository;
use crate::request::Query;
use crate::rooms::{NewRoom, RoomChanges, RoomFilter, DESCRIPTION_MAX_CHARS, NAME_MAX_CHARS};
use crate::text::fold_case;

/// The listings' meaning, read the slow way: every live room the caller may list (`?1`), whose
/// folded name or description holds the folded search (`?2`), newest first.
const VISIBLE_BY_SUBSTRING: &str = "SELECT r.id FROM rooms r WHERE r.deleted_at IS NULL \
       AND (r.is_private = 0 OR EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?1)) \
       AND (instr(r.name_key, ?2) > 0 OR instr(coalesce(r.description_key, ''), ?2) > 0) \
     ORDER BY r.created_at DESC, r.id DESC";

const JOINED_BY_SUBSTRING: &str = "SELECT r.id FROM rooms r JOIN memberships m ON m.room_id = r.id AND m.user_id = ?1 \
     WHERE r.deleted_at IS NULL \
       AND (instr(r.name_key, ?2) > 0 OR instr(coalesce(r.description_key, ''), ?2) > 0) \
     ORDER BY r.created_at DESC, r.id DESC";

const INVITED_BY_SUBSTRING: &str =
    "SELECT r.id FROM rooms r JOIN invitations i ON i.room_id = r.id AND i.user_id = ?1 \
     WHERE r.deleted_at IS NULL \
       AND (instr(r.name_key, ?2) > 0 OR instr(coalesce(r.description_key, ''), ?2) > 0) \
     ORDER BY r.created_at DESC, r.id DESC";

/// Names and descriptions where substring search is easy to get wrong: characters that are
/// operators elsewhere (`%`, `_`, `*`, `"`), spaces and a tab, text that folds to more or other
/// characters (`ß`, `İ`, `ﬃ`, final sigma, Cherokee, which folds to capitals), emoji (one a
/// modifier sequence), U+0000, and the longest name and description once folded.
fn tricky_rooms() -> Vec<(String, Option<String>)> {
    let rooms: [(&str, Option<&str>); 14] = [
        ("100% Rust", None),
        ("snake_case fans", Some("Under_scores and 50% off")),
        ("Plain", Some("All about ÉTÉ and more")),
        ("Straße Talk", Some("Grüße aus München")),
        ("Quote \"this\" room", Some("He said \"hi\"")),
        ("Star * gazers", Some("* and ** and a*b")),
        ("Émoji 🎉 party", Some("🎉🎉 and 👍🏽 thumbs")),
        ("İstanbul nights", None),
        ("ΟΔΟΣ street", Some("Σίσυφος")),
        ("Cherokee ꭰꭱ", None),
        ("nul\0name", Some("before\0after")),
        ("ab cd", Some("x y")),
        ("tab\there", None),
        ("\0\0\0", None),
    ];
    let mut rooms: Vec<(String, Option<String>)> =
        rooms.into_iter().map(|(name, description)| (name.to_owned(), description.map(str::to_owned))).collect();
    rooms.push((
        format!("{}q", "ﬃ".repeat(NAME_MAX_CHARS - 1)),
        Some(format!("{}z", "ﬃ".repeat(DESCRIPTION_MAX_CHARS - 1))),
    ));
    rooms
}

/// Searches of 1, 2 and 3 or more characters, as typed (the filter trims and folds them).
const SEARCHES: &[&[&str]] = &[
    // Folding: accents, ß to ss, İ to i and a combining dot, final sigma, Cherokee to capitals.
    &["a", "e", "é", "É", "ÉT", "été", "ÉTÉ", "ß", "ss", "SS", "straße", "STRASSE", "grüße", "GRÜSSE"],
    &["i\u{307}", "İ", "İst", "ı", "σ", "Σ", "ς", "ΟΔΟΣ", "οδοσ", "σίσυφος", "ꭰ", "Ꭰ", "ꭰꭱ", "e ꭰ"],
    // Characters that are operators in LIKE, GLOB or FTS5 queries; spaces and a tab.
    &["%", "%%", "50%", "0% ", "_", "_s", "e_c", "*", "**", "a*b", "* a", "*\""],
    &["\"", "\"h", "\"hi\"", "\"this\" room", "\"\"", "b c", "ab cd", "x y", "b\th", "\th"],
    // Emoji, one of them a modifier sequence.
    &["🎉", "🎉🎉", "🎉 p", "👍🏽", "👍", "🏽", "😀"],
    // U+0000, and text after it.
    &["\0", "l\0n", "\0a", "e\0a", "\0\0\0", "name", "after", "fore", "nul"],
    // The ends of the longest name and description, and across the two.
    &["q", "z", "iz", "fiz", "ffiz", "ﬃz", "qf", "q f"],
    // Nothing, the private room, the deleted room, most rooms.
    &["zzz", "secret", "se", "s", "deleted", "room", "r", "oo"],
];

fn database() -> MemoryDatabase {
    let db = MemoryDatabase::new();
    ensure_current(&db).expect("migrations apply");
    db
}

fn caller(name: &str) -> Caller {
    Caller { user_id: UserId::new_random(), display_name: Some(name.into()) }
}

fn create(db: &MemoryDatabase, owner: &Caller, name: &str, description: Option<&str>, is_private: bool) -> RoomId {
    let body = json!({"name": name, "description": description, "isPrivate": is_private});
    let room = NewRoom::parse(serde_json::from_value(body).expect("a room body")).expect("a valid room");
    RoomRepository::new(db).create(&room, owner).expect("no store failure").expect("room created").id
}

fn change(db: &MemoryDatabase, room: RoomId, admin: &Caller, body: serde_json::Value) {
    let changes = RoomChanges::parse(serde_json::from_value(body).expect("an update body")).expect("valid changes");
    RoomRepository::new(db).update(room, admin.user_id, &changes).expect("no store failure").expect("updated");
}

fn filter(query: &str, who: &Caller) -> RoomFilter {
    RoomFilter::parse(&Query::parse(query), who.user_id).expect("a room filter")
}

fn search_query(search: &str) -> String {
    format!("search={}", form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>())
}

/// The listing's rooms (every page of `limit`) and the total of its first page.
fn listed(db: &MemoryDatabase, filter: &RoomFilter, limit: u32) -> (Vec<RoomId>, u64) {
    let rooms = RoomRepository::new(db);
    let (first, total) = rooms.find_all(filter, PageRequest { page: 1, limit }).expect("a listing");
    let mut ids: Vec<RoomId> = first.iter().map(|room| room.id).collect();
    for page in 2.. {
        let (more, more_total) = rooms.find_all(filter, PageRequest { page, limit }).expect("a listing");
        assert_eq!(more_total, total, "every page tells the same total");
        if more.is_empty() {
            break;
        }
        ids.extend(more.iter().map(|room| room.id));
    }
    (ids, total)
}

fn by_substring(db: &MemoryDatabase, sql: &str, who: &Caller, search: &str) -> Vec<RoomId> {
    let params = [who.user_id.to_string().into(), fold_case(search).into()];
    let rows = db.execute(sql, &params).expect("the substring listing");
    rows.iter().map(|row| row.get("id").expect("an id")).collect()
}

/// Every search of `SEARCHES`, listed by `who` as `query` asks, equals substring semantics.
fn assert_searches_equal_substring(db: &MemoryDatabase, who: &Caller, query: &str, oracle: &str) {
    for search in SEARCHES.iter().flat_map(|group| group.iter()) {
        let filter = filter(&format!("{query}&{}", search_query(search)), who);
        let expected = by_substring(db, oracle, who, search.trim());
        let (ids, total) = listed(db, &filter, 100);
        assert_eq!((&ids, total), (&expected, expected.len() as u64), "{query} search {search:?}");
        let (paged, _) = listed(db, &filter, 2);
        assert_eq!(paged, expected, "{query} search {search:?} two at a time");
    }
}

fn count(db: &MemoryDatabase, sql: &str) -> i64 {
    db.execute(sql, &[]).expect("a count").first().expect("a row").get("n").expect("n")
}

/// The index holds exactly the live rooms: their copied columns, their keys as indexed text, and
/// the grams the migration's backfill would compute from them.
fn assert_index_matches_rooms(db: &MemoryDatabase) {
    let differences = [
        "SELECT count(*) AS n FROM (SELECT id, created_at, is_private FROM rooms WHERE deleted_at IS NULL \
           EXCEPT SELECT room_id, created_at, is_private FROM room_search_docs)",
        "SELECT count(*) AS n FROM (SELECT room_id, created_at, is_private FROM room_search_docs \
           EXCEPT SELECT id, created_at, is_private FROM rooms WHERE deleted_at IS NULL)",
        "SELECT count(*) AS n FROM (SELECT d.doc, r.name_key, r.description_key FROM room_search_docs d \
           JOIN rooms r ON r.id = d.room_id EXCEPT SELECT rowid, name_key, description_key FROM room_search)",
        "SELECT count(*) AS n FROM (SELECT rowid, name_key, description_key FROM room_search \
           EXCEPT SELECT d.doc, r.name_key, r.description_key FROM room_search_docs d JOIN rooms r ON r.id = d.room_id)",
        "SELECT count(*) AS n FROM (SELECT gram, doc FROM room_search_grams EXCEPT SELECT gram, doc FROM room_search_doc_grams)",
        "SELECT count(*) AS n FROM (SELECT gram, doc FROM room_search_doc_grams EXCEPT SELECT gram, doc FROM room_search_grams)",
    ];
    for sql in differences {
        assert_eq!(count(db, sql), 0, "{sql}");
    }
}

#[test]
fn searches_answer_what_substring_semantics_answers() {
    let db = database();
    let (ada, eve) = (caller("Ada"), caller("Eve"));
    for (name, description) in tricky_rooms() {
        create(&db, &ada, &name, description.as_deref(), false);
    }
    let secret = create(&db, &ada, "Secret garden", Some("private matters"), true);
    let gone = create(&db, &ada, "Deleted room", Some("was here"), false);
    RoomRepository::new(&db).soft_delete(gone, ada.user_id).expect("no store failure").expect("deleted");
    InvitationRepository::new(&db)
        .invite(secret, eve.user_id, ada.user_id)
        .expect("no store failure")
        .expect("invited");
    assert_index_matches_rooms(&db);

    assert_searches_equal_substring(&db, &eve, "", VISIBLE_BY_SUBSTRING);
    assert_searches_equal_substring(&db, &ada, "", VISIBLE_BY_SUBSTRING);
    assert_searches_equal_substring(&db, &ada, "joined=true", JOINED_BY_SUBSTRING);
    assert_searches_equal_substring(&db, &eve, "invited=true", INVITED_BY_SUBSTRING);
}

#[test]
fn searches_find_what_a_reader_expects() {
    let db = database();
    let ada = caller("Ada");
    for (name, description) in tricky_rooms() {
        create(&db, &ada, &name, description.as_deref(), false);
    }
    let names = |search: &str| {
        let (rooms, _) = RoomRepository::new(&db)
            .find_all(&filter(&search_query(search), &ada), PageRequest { page: 1, limit: 100 })
            .expect("a listing");
        let mut names: Vec<String> = rooms.into_iter().map(|room| room.name).collect();
        names.sort();
        names
    };
    assert_eq!(names("%"), ["100% Rust", "snake_case fans"]);
    assert_eq!(names("_s"), ["snake_case fans"]);
    assert_eq!(names("ß"), ["Straße Talk"], "ß folds to ss, 2 characters");
    assert_eq!(names("STRASSE"), ["Straße Talk"]);
    assert_eq!(names("été"), ["Plain"]);
    assert_eq!(names("\"hi\""), ["Quote \"this\" room"]);
    assert_eq!(names("a*b"), ["Star * gazers"]);
    assert_eq!(names("👍🏽"), ["Émoji 🎉 party"]);
    assert_eq!(names("ς"), ["ΟΔΟΣ street"], "final sigma folds to σ");
    assert_eq!(names("ꭰꭱ"), ["Cherokee ꭰꭱ"]);
    assert_eq!(names("after"), ["nul\0name"], "text after U+0000");
    assert_eq!(names("\0"), ["\0\0\0", "nul\0name"]);
    assert_eq!(names("fiz"), [format!("{}q", "ﬃ".repeat(99))], "the end of the longest description");
    assert!(names("q f").is_empty(), "no match across the name and the description");
}

#[test]
fn a_renamed_or_redescribed_room_is_found_by_its_new_text_only() {
    let db = database();
    let (ada, eve) = (caller("Ada"), caller("Eve"));
    create(&db, &ada, "Lobby", None, false);
    let room = create(&db, &ada, "Alpha centauri", Some("first light"), false);
    let found = |search: &str| listed(&db, &filter(&search_query(search), &eve), 20).0.contains(&room);
    let found_at_first: Vec<&str> =
        ["alp", "al", "ç", "first", "fi", "f", "x"].into_iter().filter(|s| found(s)).collect();
    assert_eq!(found_at_first, ["alp", "al", "first", "fi", "f"]);

    change(&db, room, &ada, json!({"name": "Beta wave"}));
    assert_index_matches_rooms(&db);
    assert!(!found("alp") && !found("al") && !found("Alpha"));
    assert!(found("bet") && found("be") && found("w") && found("first") && found("fi"));

    change(&db, room, &ada, json!({"description": "Second wind"}));
    assert_index_matches_rooms(&db);
    assert!(!found("first") && !found("fi") && !found("f"));
    assert!(found("second") && found("wi") && found("nd"));

    change(&db, room, &ada, json!({"description": null}));
    assert_index_matches_rooms(&db);
    assert!(!found("second") && !found("nd") && found("wave"));

    change(&db, room, &ada, json!({"isPrivate": true}));
    assert_index_matches_rooms(&db);
    assert!(!found("wave") && !found("wa"), "a private room is listed to its members only");
    assert!(listed(&db, &filter(&search_query("wa"), &ada), 20).0.contains(&room));
    assert_searches_equal_substring(&db, &eve, "", VISIBLE_BY_SUBSTRING);
}

#[test]
fn a_deleted_room_is_gone_from_search_and_from_the_index() {
    let db = database();
    let ada = caller("Ada");
    let keep = create(&db, &ada, "Kept room", Some("still here"), false);
    let room = create(&db, &ada, "Doomed room", Some("soon gone"), false);
    RoomRepository::new(&db).soft_delete(room, ada.user_id).expect("no store failure").expect("deleted");
    for search in ["doomed", "room", "gone", "oo", "d", "g"] {
        let (ids, total) = listed(&db, &filter(&search_query(search), &ada), 20);
        assert!(!ids.contains(&room), "{search}");
        assert_eq!(total, ids.len() as u64);
    }
    assert_eq!(listed(&db, &filter(&search_query("room"), &ada), 20).0, [keep]);
    assert_eq!(count(&db, "SELECT count(*) AS n FROM room_search_docs"), 1);
    assert_eq!(count(&db, "SELECT count(*) AS n FROM room_search"), 1);
    assert_index_matches_rooms(&db);
    // Its name is free again, and the new room is found.
    let again = create(&db, &ada, "Doomed room", None, false);
    assert_eq!(listed(&db, &filter(&search_query("doomed"), &ada), 20).0, [again]);
    assert_index_matches_rooms(&db);
}

#[test]
fn a_rename_refused_as_a_taken_name_leaves_the_index_alone() {
    let db = database();
    let ada = caller("Ada");
    create(&db, &ada, "Taken", None, false);
    let room = create(&db, &ada, "Mine", None, false);
    let changes = RoomChanges::parse(serde_json::from_value(json!({"name": "TAKEN"})).unwrap()).unwrap();
    let refused = RoomRepository::new(&db).update(room, ada.user_id, &changes).expect("no store failure");
    assert_eq!(refused.err(), Some(Refusal::RoomNameTaken));
    assert_index_matches_rooms(&db);
    assert_eq!(listed(&db, &filter(&search_query("mi"), &ada), 20).0, [room]);
}

/// Every character folded text can hold (what `fold_case` makes of any character).
fn characters_of_folded_text() -> BTreeSet<char> {
    (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .flat_map(|c| fold_case(c.encode_utf8(&mut [0; 4])).chars().collect::<Vec<_>>())
        .collect()
}

/// The trigram search takes FTS5's phrase match without confirming it with `instr`: FTS5 folds
/// case too (upper to lower, character by character), and that is sound only if it never makes
/// two characters of folded text one. Only characters with a case can fold, so each of those that
/// folded text holds is indexed alone and must match itself alone.
#[test]
fn fts5_folds_no_two_characters_of_folded_text_into_one() {
    let cased: Vec<char> = characters_of_folded_text()
        .into_iter()
        .filter(|c| c.is_lowercase() || c.is_uppercase() || !c.to_lowercase().eq([*c]) || !c.to_uppercase().eq([*c]))
        .collect();
    assert!(cased.len() > 1_000, "{} cased characters", cased.len());
    let db = MemoryDatabase::new();
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')", &[]).unwrap();
    for c in &cased {
        let text: String = [*c; 3].iter().collect();
        db.execute(
            "INSERT INTO t (rowid, x) VALUES (?1, ?2)",
            &[SqlValue::Integer(i64::from(u32::from(*c))), text.into()],
        )
        .unwrap();
    }
    for c in &cased {
        let phrase = format!("\"{}\"", [*c; 3].iter().collect::<String>().replace('"', "\"\""));
        let rows = db.execute("SELECT rowid AS c FROM t WHERE t MATCH ?1", &[phrase.into()]).unwrap();
        let matched: Vec<i64> = rows.iter().map(|row| row.get("c").unwrap()).collect();
        assert_eq!(matched, [i64::from(u32::from(*c))], "{c:?} (U+{:04X})", u32::from(*c));
    }
}

#[test]
fn the_positions_cover_the_longest_folded_name_and_description() {
    let most = (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .map(|c| fold_case(c.encode_utf8(&mut [0; 4])).chars().count())
        .max()
        .unwrap_or(0);
    assert_eq!(most, 3, "the migration's comment says 3");
    let db = database();
    let last = count(&db, "SELECT max(start) AS n FROM room_search_positions");
    let longest = most * NAME_MAX_CHARS + 1 + most * DESCRIPTION_MAX_CHARS;
    assert!(longest as i64 <= last, "{longest} characters, positions up to {last}");
}

#[test]
fn rooms_inserted_in_bulk_are_indexed_by_the_same_triggers() {
    // As `bench`'s seed fills a store: one INSERT of many rooms.
    let db = database();
    let ada = caller("Ada");
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
         INSERT INTO rooms (id, name, name_key, description, description_key, created_by, created_at, updated_at) \
         SELECT printf('00000000-0000-4000-8000-%012d', i), 'Room ' || i, 'room ' || i, \
           CASE WHEN i % 700 = 0 THEN 'zq' END, CASE WHEN i % 700 = 0 THEN 'zq' END, ?1, '2024', '2024' FROM n",
        &[SqlValue::Text(ada.user_id.to_string())],
    )
    .expect("seeded");
    assert_index_matches_rooms(&db);
    for (search, total) in [("zq", 2), ("z", 2), ("room 1", 1111), ("7", 542), ("m", 2000), ("xyz", 0)] {
        let (ids, listed_total) = listed(&db, &filter(&search_query(search), &ada), 100);
        assert_eq!((&ids, listed_total), (&by_substring(&db, VISIBLE_BY_SUBSTRING, &ada, search), total), "{search}");
    }
}
