//! Repository tests on an in-memory SQLite, through the same `Database` trait the components use.

use crate::auth::Caller;
use crate::db::testing::MemoryDatabase;
use crate::db::Database;
use crate::error::{ApiError, Conflict};
use crate::ids::{RoomId, UserId};
use crate::messages::{NewMessage, PageStart};
use crate::migrations::ensure_current;
use crate::pagination::PageRequest;
use crate::repositories::memberships::{JoinOutcome, RoomUserRepository};
use crate::repositories::messages::{MessageRepository, SendOutcome};
use crate::repositories::rooms::RoomRepository;
use crate::rooms::{NewRoom, Role, RoomFilter};

fn database() -> MemoryDatabase {
    let db = MemoryDatabase::new();
    ensure_current(&db).expect("migrations apply");
    db
}

fn caller(name: &str) -> Caller {
    Caller { user_id: UserId::new_random(), display_name: Some(name.into()) }
}

fn room(db: &MemoryDatabase, owner: &Caller, name: &str, is_private: bool) -> RoomId {
    let room = NewRoom { name: name.into(), description: None, is_private };
    RoomRepository::new(db).create(&room, owner).expect("room created").id
}

#[test]
fn is_user_in_room_follows_joins_and_leaves() {
    let db = database();
    let (ada, bob) = (caller("Ada"), caller("Bob"));
    let id = room(&db, &ada, "Lobby", false);
    let members = RoomUserRepository::new(&db);
    assert!(members.is_user_in_room(id, ada.user_id).unwrap());
    assert!(!members.is_user_in_room(id, bob.user_id).unwrap());
    assert!(matches!(members.join(id, &bob).unwrap(), Some(JoinOutcome::Joined(m)) if m.role == Role::Member));
    assert!(matches!(members.join(id, &bob).unwrap(), Some(JoinOutcome::AlreadyMember(_))));
    assert!(members.is_user_in_room(id, bob.user_id).unwrap());
    members.remove(id, bob.user_id, bob.user_id).unwrap();
    assert!(!members.is_user_in_room(id, bob.user_id).unwrap());
    assert!(!members.is_user_in_room(RoomId::new_random(), ada.user_id).unwrap());
}

#[test]
fn the_last_admin_is_kept_by_the_statement_itself() {
    let db = database();
    let ada = caller("Ada");
    let id = room(&db, &ada, "Lobby", false);
    let members = RoomUserRepository::new(&db);
    assert_eq!(members.remove(id, ada.user_id, ada.user_id), Err(ApiError::Conflict(Conflict::LastAdmin)));
    assert_eq!(
        members.set_role(id, ada.user_id, ada.user_id, Role::Member),
        Err(ApiError::Conflict(Conflict::LastAdmin))
    );
    let rows = db.execute("SELECT count(*) AS n FROM memberships WHERE role = 'admin'", &[]).unwrap();
    assert_eq!(rows.first().unwrap().integer(0).unwrap(), 1);
}

#[test]
fn private_rooms_are_listed_only_for_members() {
    let db = database();
    let (ada, eve) = (caller("Ada"), caller("Eve"));
    room(&db, &ada, "Open", false);
    room(&db, &ada, "Closed", true);
    let page = PageRequest { page: 1, limit: 20 };
    let list = |who: &Caller| {
        let filter = RoomFilter { caller: who.user_id, search: None, joined_only: false, invited_only: false };
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
        let message = NewMessage { kind: Default::default(), content: Some(format!("m{i}")), attachment: None };
        assert!(matches!(messages.create(id, &ada, &message, None).unwrap(), SendOutcome::Created(_)));
    }
    let newest = messages.find_page(id, PageStart::Newest, 2).unwrap();
    let contents: Vec<_> = newest.messages.iter().map(|m| m.content.clone().unwrap()).collect();
    assert_eq!(contents, ["m3", "m4"]);
    assert!(newest.has_more && newest.has_older);
    let older = messages.find_page(id, PageStart::Before(newest.messages[0].seq), 10).unwrap();
    assert_eq!(older.messages.len(), 3);
    assert!(!older.has_more && !older.has_older);
    let outsider = caller("Eve");
    let message = NewMessage { kind: Default::default(), content: Some("hi".into()), attachment: None };
    assert_eq!(messages.create(id, &outsider, &message, None).unwrap(), SendOutcome::NotAllowed);
}
