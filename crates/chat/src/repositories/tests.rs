//! Repository tests on an in-memory SQLite, through the same `Database` trait the components use.

use crate::access::Refusal;
use crate::auth::Caller;
use crate::db::testing::MemoryDatabase;
use crate::db::Database;
use crate::history::{MessagePageRequest, PageStart};
use crate::ids::{RoomId, UserId};
use crate::messages::NewMessage;
use crate::migrations::ensure_current;
use crate::pagination::PageRequest;
use crate::repositories::history::HistoryRepository;
use crate::repositories::memberships::{JoinOutcome, RoomUserRepository};
use crate::repositories::messages::{MessageRepository, SendOutcome};
use crate::repositories::rooms::RoomRepository;
use crate::request::Query;
use crate::rooms::{NewRoom, Role, RoomFilter};

fn database() -> MemoryDatabase {
    let db = MemoryDatabase::new();
    ensure_current(&db).expect("migrations apply");
    db
}

fn caller(name: &str) -> Caller {
    Caller { user_id: UserId::new_random(), display_name: Some(name.into()) }
}

fn text_message(content: &str) -> NewMessage {
    NewMessage::parse(serde_json::from_value(serde_json::json!({"content": content})).expect("a message body"))
        .expect("a valid message")
}

fn room(db: &MemoryDatabase, owner: &Caller, name: &str, is_private: bool) -> RoomId {
    let body = serde_json::json!({"name": name, "isPrivate": is_private});
    let room = NewRoom::parse(serde_json::from_value(body).expect("a room body")).expect("a valid room");
    RoomRepository::new(db).create(&room, owner).expect("no store failure").expect("room created").id
}

fn is_member(db: &MemoryDatabase, room: RoomId, user: &Caller) -> bool {
    RoomUserRepository::new(db).access(room, user.user_id).unwrap().is_some_and(|a| a.is_member())
}

#[test]
fn joining_makes_a_member_once() {
    let db = database();
    let (ada, bob) = (caller("Ada"), caller("Bob"));
    let id = room(&db, &ada, "Lobby", false);
    let members = RoomUserRepository::new(&db);
    assert!(matches!(members.join(id, &bob).unwrap(), Some(JoinOutcome::Joined(m)) if m.role == Role::Member));
    assert!(matches!(members.join(id, &bob).unwrap(), Some(JoinOutcome::AlreadyMember(_))));
    assert!(is_member(&db, id, &bob));
}

#[test]
fn leaving_ends_the_membership() {
    let db = database();
    let (ada, bob) = (caller("Ada"), caller("Bob"));
    let id = room(&db, &ada, "Lobby", false);
    let members = RoomUserRepository::new(&db);
    members.join(id, &bob).unwrap();
    assert_eq!(members.leave(id, bob.user_id), Ok(Ok(())));
    assert!(!is_member(&db, id, &bob));
}

#[test]
fn leaving_a_room_one_is_not_in_is_refused() {
    let db = database();
    let (ada, bob) = (caller("Ada"), caller("Bob"));
    let id = room(&db, &ada, "Lobby", false);
    assert_eq!(RoomUserRepository::new(&db).leave(id, bob.user_id), Ok(Err(Refusal::LeavingWithoutMembership)));
}

#[test]
fn the_last_admin_is_kept_by_the_statement_itself() {
    let db = database();
    let ada = caller("Ada");
    let id = room(&db, &ada, "Lobby", false);
    let members = RoomUserRepository::new(&db);
    assert_eq!(members.remove(id, ada.user_id, ada.user_id), Ok(Err(Refusal::LastAdmin)));
    assert_eq!(members.set_role(id, ada.user_id, ada.user_id, Role::Member), Ok(Err(Refusal::LastAdmin)));
    let rows = db.execute("SELECT count(*) AS n FROM memberships WHERE role = 'admin'", &[]).unwrap();
    assert_eq!(rows.first().unwrap().get::<i64>("n").unwrap(), 1);
}

#[test]
fn private_rooms_are_listed_only_for_members() {
    let db = database();
    let (ada, eve) = (caller("Ada"), caller("Eve"));
    room(&db, &ada, "Open", false);
    room(&db, &ada, "Closed", true);
    let page = PageRequest { page: 1, limit: 20 };
    let list = |who: &Caller| {
        let filter = RoomFilter::parse(&Query::parse(""), who.user_id).expect("no filter");
        RoomRepository::new(&db).find_all(&filter, page).unwrap()
    };
    assert_eq!(list(&ada).1, 2);
    let (rooms, total) = list(&eve);
    assert_eq!((rooms.len(), total, rooms[0].name.as_str()), (1, 1, "Open"));
}

#[test]
fn history_pages_follow_the_store_sequence() {
    let db = database();
    let ada = caller("Ada");
    let id = room(&db, &ada, "Lobby", false);
    let messages = MessageRepository::new(&db);
    for i in 0..5 {
        let message = text_message(&format!("m{i}"));
        assert!(matches!(messages.create(id, &ada, &message, None), Ok(Ok(SendOutcome::Created(_)))));
    }
    let newest =
        HistoryRepository::new(&db).read_page(id, ada.user_id, &MessagePageRequest::newest(2)).unwrap().unwrap();
    let contents: Vec<_> = newest.messages.iter().map(|m| m.content.clone().unwrap()).collect();
    assert_eq!(contents, ["m3", "m4"]);
    assert!(newest.has_more && newest.has_older);
    let older = HistoryRepository::new(&db)
        .read_page(
            id,
            ada.user_id,
            &MessagePageRequest { start: PageStart::Before(newest.messages[0].seq), ..MessagePageRequest::newest(10) },
        )
        .unwrap()
        .unwrap();
    assert_eq!(older.messages.len(), 3);
    assert!(!older.has_more && !older.has_older);
}

#[test]
fn an_outsider_cannot_send() {
    let db = database();
    let (ada, eve) = (caller("Ada"), caller("Eve"));
    let id = room(&db, &ada, "Lobby", false);
    let sent = MessageRepository::new(&db).create(id, &eve, &text_message("hi"), None);
    assert_eq!(sent, Ok(Err(Refusal::NotMember)));
}
