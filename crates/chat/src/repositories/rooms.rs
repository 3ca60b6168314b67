//! `RoomRepository`: rooms and the per-caller view of them.

use super::guards::{guarded_write, is_admin, is_invited, is_member, refuse_on_unique};
use super::memberships::RoomUserRepository;
use super::{now_sql, Guarded};
use crate::access::{require_admin, Refusal};
use crate::auth::Caller;
use crate::db::{transaction, Database, DbError, FromRow, Row, SqlValue};
use crate::ids::{RoomId, UserId};
use crate::pagination::PageRequest;
use crate::rooms::{NewRoom, Role, RoomChanges, RoomFilter, RoomView};
use crate::text::fold_case;

/// The room's columns and the caller's view of it (`?1` is the caller, `me` their membership):
/// member count is a column kept by triggers (migration 0002); unread count, newest live message
/// and invitation are correlated look-ups on indexes, never a query per room.
macro_rules! room_view_columns {
    () => {
        concat!(
            "r.id, r.name, r.description, r.is_private, r.created_by, r.created_at, r.updated_at, \
             r.member_count, me.role AS my_role, \
             CASE WHEN me.user_id IS NULL THEN 0 ELSE \
               (SELECT count(*) FROM messages g WHERE g.room_id = r.id AND g.seq > me.last_read_seq \
                  AND g.deleted_at IS NULL AND g.author_id <> ?1) END AS unread_count, \
             (SELECT g.created_at FROM messages g WHERE g.room_id = r.id AND g.deleted_at IS NULL \
                ORDER BY g.seq DESC LIMIT 1) AS last_message_at, ",
            is_invited!("r.id", "?1"),
            " AS invited"
        )
    };
}

/// A listing without `joined` / `invited`: public rooms and the private rooms the caller is in
/// (membership is asked of private rooms only).
macro_rules! visible_rooms {
    () => {
        concat!("FROM rooms r WHERE r.deleted_at IS NULL AND (r.is_private = 0 OR ", is_member!("r.id", "?1"), ") ")
    };
}

/// `joined=true`: driven by the caller's memberships (`memberships_user`), then their rooms.
macro_rules! joined_rooms {
    () => {
        "FROM memberships me CROSS JOIN rooms r \
         WHERE me.user_id = ?1 AND r.id = me.room_id AND r.deleted_at IS NULL "
    };
}

/// `invited=true`: driven by the caller's invitations (`invitations_user`); `?5 = 1` also asks
/// for `joined=true`.
macro_rules! invited_rooms {
    () => {
        "FROM invitations inv CROSS JOIN rooms r \
           LEFT JOIN memberships me ON me.room_id = r.id AND me.user_id = ?1 \
         WHERE inv.user_id = ?1 AND r.id = inv.room_id AND r.deleted_at IS NULL \
           AND (?5 = 0 OR me.user_id IS NOT NULL) "
    };
}

/// `?2`: the folded search text, or NULL for no search, checked on each room the listing reads.
/// Only `joined=true` and `invited=true` use it: they read the caller's own rooms anyway (their
/// order and total need every one), so a check on those rows costs less than any index look-up.
macro_rules! matching_search {
    () => {
        "AND (?2 IS NULL OR instr(r.name_key, ?2) > 0 OR instr(coalesce(r.description_key, ''), ?2) > 0) "
    };
}

// How a search of the visible rooms finds its rooms: on the indexes of migration 0003, never by
// reading every room's text, so its cost follows the rooms that match. Each way answers the
// `room_search_docs` (`doc`) of the live rooms whose folded name or description holds the folded
// search `?2` as a substring, each once; `find_all` picks the way by the search's length:
// - 3 characters or more: the FTS5 trigram index (`docs_by_trigrams`);
// - 1 or 2 characters, which no trigram can answer: the table of each room's 1- and 2-character
//   substrings (`docs_by_grams`), one seek.
// A key holding U+0000 is indexed only up to it, so those rooms (filed under the gram '') are
// left out of both and checked with `instr` instead (`docs_with_nul_holding_search`).

/// The rooms with U+0000 in a key: in practice none.
macro_rules! docs_with_nul {
    () => {
        "SELECT doc FROM room_search_grams WHERE gram = ''"
    };
}

/// Those whose indexed text holds the search.
macro_rules! docs_with_nul_holding_search {
    () => {
        concat!(
            "SELECT rowid FROM room_search WHERE rowid IN (",
            docs_with_nul!(),
            ") AND (instr(room_search.name_key, ?2) > 0 OR instr(coalesce(room_search.description_key, ''), ?2) > 0)"
        )
    };
}

/// `?2` as one FTS5 phrase: in double quotes, a `"` doubled, so no character of the search acts
/// as an operator. The phrase matches consecutive trigrams within one column: exactly where the
/// column holds the search, since FTS5's own case folding changes no character of folded text
/// into another one that folded text holds (a test checks every such character), so no `instr`
/// needs to confirm a match.
macro_rules! docs_by_trigrams {
    () => {
        concat!(
            "SELECT rowid AS doc FROM room_search WHERE room_search MATCH '\"' || replace(?2, '\"', '\"\"') || '\"' \
               AND rowid NOT IN (",
            docs_with_nul!(),
            ") UNION ALL ",
            docs_with_nul_holding_search!()
        )
    };
}

/// `?2` among the grams: exact, since a search of 1 or 2 characters is a gram of every room that
/// holds it (the grams leave out those holding a space, which a trimmed search of 1 or 2
/// characters never holds). A search holding U+0000, which cannot be an FTS5 phrase, comes here
/// too: it is no gram, and only `docs_with_nul_holding_search` can find it.
macro_rules! docs_by_grams {
    () => {
        concat!(
            "SELECT doc FROM room_search_grams WHERE gram = ?2 AND doc NOT IN (",
            docs_with_nul!(),
            ") UNION ALL ",
            docs_with_nul_holding_search!()
        )
    };
}

/// The page (`?3` rows from `?4`) of the rooms `$rooms` selects, newest first, with their views.
macro_rules! room_page {
    ($rooms:expr) => {
        concat!(
            "SELECT ",
            room_view_columns!(),
            " ",
            $rooms,
            matching_search!(),
            "ORDER BY r.created_at DESC, r.id DESC LIMIT ?3 OFFSET ?4"
        )
    };
}

/// One page and the total in one statement, so they always agree: one row per room, or a single
/// row with only `total` when the page is empty.
macro_rules! room_listing {
    ($total:expr, $page:expr) => {
        concat!(
            "SELECT t.total, p.* FROM (SELECT ",
            $total,
            " AS total) t LEFT JOIN (",
            $page,
            ") p ON 1 = 1 ORDER BY p.created_at DESC, p.id DESC"
        )
    };
}

/// The total of visible rooms without a search: the live public rooms (a counter) plus the
/// caller's private ones.
macro_rules! visible_total {
    () => {
        "(SELECT live_public FROM room_totals WHERE id = 1) \
           + (SELECT count(*) FROM memberships pm CROSS JOIN rooms pr WHERE pm.user_id = ?1 \
                AND pr.id = pm.room_id AND pr.deleted_at IS NULL AND pr.is_private = 1)"
    };
}

/// The rooms of the page whose ids `$ids` selects, in full, with the caller's view of each (a
/// deferred join: only the page's rooms are read).
macro_rules! page_of_rooms {
    ($ids:expr) => {
        concat!(
            "SELECT ",
            room_view_columns!(),
            " FROM (",
            $ids,
            ") page CROSS JOIN rooms r ON r.id = page.id \
             LEFT JOIN memberships me ON me.room_id = r.id AND me.user_id = ?1"
        )
    };
}

/// Without a search the page is found on the covering `rooms_live_newest` index alone, so a deep
/// page costs an index walk (`?2`, the search, is bound NULL and unused).
const LIST_VISIBLE_ROOMS: &str = room_listing!(
    visible_total!(),
    page_of_rooms!(concat!(
        "SELECT r.id ",
        visible_rooms!(),
        "ORDER BY r.created_at DESC, r.id DESC LIMIT ?3 OFFSET ?4"
    ))
);

/// A search of the visible rooms: the rooms `$docs` finds, kept when public or when the caller
/// is a member, read from `room_search_docs` alone (it holds the live rooms with their
/// `created_at` and `is_private`) and once for both the total and the page; only the page's rooms
/// are read in full.
macro_rules! visible_search {
    ($docs:expr) => {
        concat!(
            "WITH found AS MATERIALIZED (SELECT d.room_id AS id, d.created_at FROM (",
            $docs,
            ") m CROSS JOIN room_search_docs d ON d.doc = m.doc WHERE (d.is_private = 0 OR ",
            is_member!("d.room_id", "?1"),
            ")) ",
            room_listing!(
                "(SELECT count(*) FROM found)",
                page_of_rooms!("SELECT id FROM found ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4")
            )
        )
    };
}

const SEARCH_VISIBLE_ROOMS_BY_TRIGRAMS: &str = visible_search!(docs_by_trigrams!());

const SEARCH_VISIBLE_ROOMS_BY_GRAMS: &str = visible_search!(docs_by_grams!());

const LIST_JOINED_ROOMS: &str =
    room_listing!(concat!("(SELECT count(*) ", joined_rooms!(), matching_search!(), ")"), room_page!(joined_rooms!()));

const LIST_INVITED_ROOMS: &str = room_listing!(
    concat!("(SELECT count(*) ", invited_rooms!(), matching_search!(), ")"),
    room_page!(invited_rooms!())
);

const FIND_ROOM: &str = concat!(
    "SELECT ",
    room_view_columns!(),
    " FROM rooms r LEFT JOIN memberships me ON me.room_id = r.id AND me.user_id = ?1 \
     WHERE r.id = ?2 AND r.deleted_at IS NULL"
);

const INSERT_ROOM: &str = concat!(
    "INSERT INTO rooms (id, name, name_key, description, description_key, is_private, created_by, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ",
    now_sql!(),
    ", ",
    now_sql!(),
    ") RETURNING created_at, updated_at"
);

const INSERT_ADMIN: &str = concat!(
    "INSERT INTO memberships (room_id, user_id, role, display_name, joined_at, last_read_seq) \
     VALUES (?1, ?2, 'admin', ?3, ",
    now_sql!(),
    ", 0)"
);

/// Admin-only changes check the role in the same statement, so a demoted admin cannot slip in.
macro_rules! by_live_room_admin {
    () => {
        concat!("WHERE id = ?1 AND deleted_at IS NULL AND ", is_admin!("?1", "?2"), " ")
    };
}

/// `?4 = 1` replaces the description with `?5`. `updated_at` moves forward even within one
/// millisecond of the previous change.
const UPDATE_ROOM: &str = concat!(
    "UPDATE rooms SET name = coalesce(?3, name), name_key = coalesce(?6, name_key), \
       description = CASE WHEN ?4 = 1 THEN ?5 ELSE description END, \
       description_key = CASE WHEN ?4 = 1 THEN ?7 ELSE description_key END, \
       is_private = coalesce(?8, is_private), \
       updated_at = max(",
    now_sql!(),
    ", strftime('%Y-%m-%dT%H:%M:%fZ', updated_at, '+0.001 seconds')) ",
    by_live_room_admin!(),
    "RETURNING id"
);

const SOFT_DELETE_ROOM: &str =
    concat!("UPDATE rooms SET deleted_at = ", now_sql!(), " ", by_live_room_admin!(), "RETURNING id");

/// Owns all room SQL.
pub struct RoomRepository<'a> {
    db: &'a dyn Database,
}

impl<'a> RoomRepository<'a> {
    pub fn new(db: &'a dyn Database) -> Self {
        RoomRepository { db }
    }

    /// The live room `id` as `caller` sees it, whether or not the caller may see it.
    pub fn find(&self, id: RoomId, caller: UserId) -> Result<Option<RoomView>, DbError> {
        let rows = self.db.execute(FIND_ROOM, &[caller.to_string().into(), id.to_string().into()])?;
        rows.decode_first()
    }

    /// One page of the rooms `filter` selects, newest first, and how many there are in all: one
    /// statement, driven by the index of the filter (rooms, the caller's memberships or
    /// invitations, or for a search of the visible rooms the search index, by its length).
    pub fn find_all(&self, filter: &RoomFilter, page: PageRequest) -> Result<(Vec<RoomView>, u64), DbError> {
        let mut params: Vec<SqlValue> = vec![
            filter.caller().to_string().into(),
            filter.search().into(),
            i64::from(page.limit).into(),
            page.offset().into(),
        ];
        let sql = if filter.invited_only() {
            params.push(filter.joined_only().into());
            LIST_INVITED_ROOMS
        } else if filter.joined_only() {
            LIST_JOINED_ROOMS
        } else if let Some(search) = filter.search() {
            if search.chars().count() >= 3 && !search.contains('\0') {
                SEARCH_VISIBLE_ROOMS_BY_TRIGRAMS
            } else {
                SEARCH_VISIBLE_ROOMS_BY_GRAMS
            }
        } else {
            LIST_VISIBLE_ROOMS
        };
        let rows = self.db.execute(sql, &params)?;
        let total: i64 = rows.first().map_or(Ok(0), |row| row.get("total"))?;
        Ok((rows.decode_joined("id")?, u64::try_from(total).unwrap_or(0)))
    }

    /// Creates the room with `creator` as its admin, both or neither: one transaction. A name
    /// taken (ignoring case) is refused with `ROOM_NAME_TAKEN`.
    pub fn create(&self, room: &NewRoom, creator: &Caller) -> Guarded<RoomView> {
        let id = RoomId::new_random();
        let room_params = [
            id.to_string().into(),
            room.name().into(),
            fold_case(room.name()).into(),
            room.description().into(),
            room.description().map(fold_case).into(),
            room.is_private().into(),
            creator.user_id.to_string().into(),
        ];
        let admin_params =
            [id.to_string().into(), creator.user_id.to_string().into(), creator.display_name.clone().into()];
        let created = transaction(self.db, |tx| {
            let rows = tx.execute(INSERT_ROOM, &room_params)?;
            let row = rows.first().ok_or_else(|| DbError::Other("INSERT rooms returned no row".into()))?;
            let stamps: (String, String) = (row.get("created_at")?, row.get("updated_at")?);
            tx.execute(INSERT_ADMIN, &admin_params)?;
            Ok(Ok(stamps))
        });
        let (created_at, updated_at) = match refuse_on_unique(created, Refusal::RoomNameTaken)? {
            Ok(stamps) => stamps,
            Err(refusal) => return Ok(Err(refusal)),
        };
        Ok(Ok(RoomView {
            id,
            name: room.name().to_owned(),
            description: room.description().map(str::to_owned),
            is_private: room.is_private(),
            created_by: creator.user_id,
            created_at,
            updated_at,
            member_count: 1,
            is_member: true,
            role: Some(Role::Admin),
            unread_count: 0,
            last_message_at: None,
            invited: false,
        }))
    }

    /// Applies `changes` if `admin` is an admin of the live room and answers the room as
    /// `admin` now sees it; otherwise the refusal (404, 403, 409 `ROOM_NAME_TAKEN`).
    pub fn update(&self, id: RoomId, admin: UserId, changes: &RoomChanges) -> Guarded<RoomView> {
        let description = changes.description().flatten();
        let params = [
            id.to_string().into(),
            admin.to_string().into(),
            changes.name().into(),
            changes.description().is_some().into(),
            description.into(),
            changes.name().map(fold_case).into(),
            description.map(fold_case).into(),
            changes.is_private().into(),
        ];
        let update = |db: &dyn Database| Ok(db.execute(UPDATE_ROOM, &params)?.first().map(|_| ()));
        let updated = guarded_write(self.db, update, |db| self.admin_refusal(db, id, admin));
        if let Err(refusal) = refuse_on_unique(updated, Refusal::RoomNameTaken)? {
            return Ok(Err(refusal));
        }
        Ok(self.find(id, admin)?.ok_or(Refusal::NotFound))
    }

    /// Soft-deletes the live room if `admin` is its admin; otherwise the refusal (404, 403).
    pub fn soft_delete(&self, id: RoomId, admin: UserId) -> Guarded<()> {
        let params = [id.to_string().into(), admin.to_string().into()];
        let delete = |db: &dyn Database| Ok(db.execute(SOFT_DELETE_ROOM, &params)?.first().map(|_| ()));
        guarded_write(self.db, delete, |db| self.admin_refusal(db, id, admin))
    }

    /// Why an admin-only change of the room was refused.
    fn admin_refusal(&self, db: &dyn Database, id: RoomId, caller: UserId) -> Result<Option<Refusal>, DbError> {
        Ok(require_admin(RoomUserRepository::new(db).access(id, caller)?).err())
    }
}

impl FromRow for RoomView {
    fn from_row(row: Row<'_>) -> Result<Self, DbError> {
        let role: Option<Role> = row.get("my_role")?;
        Ok(RoomView {
            id: row.get("id")?,
            name: row.get("name")?,
            description: row.get("description")?,
            is_private: row.get("is_private")?,
            created_by: row.get("created_by")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            member_count: row.get("member_count")?,
            is_member: role.is_some(),
            role,
            unread_count: row.get("unread_count")?,
            last_message_at: row.get("last_message_at")?,
            invited: row.get("invited")?,
        })
    }
}
