//! `RoomRepository`: rooms and the per-caller view of them.

use super::{now_sql, on_unique};
use crate::auth::Caller;
use crate::db::{transaction, Database, DbError, Row, SqlValue};
use crate::error::{ApiError, Conflict};
use crate::ids::{RoomId, UserId};
use crate::pagination::PageRequest;
use crate::rooms::{NewRoom, Role, RoomChanges, RoomFilter, RoomView};
use crate::text::fold_case;

/// The room columns plus the caller's view of it (`?1` is the caller), in one statement: member
/// count, role, unread count, newest live message and invitation are correlated sub-queries on
/// indexed columns, never a query per room.
macro_rules! room_view_select {
    () => {
        "SELECT r.id, r.name, r.description, r.is_private, r.created_by, r.created_at, r.updated_at, \
           (SELECT count(*) FROM memberships m WHERE m.room_id = r.id) AS member_count, \
           me.role AS my_role, \
           CASE WHEN me.user_id IS NULL THEN 0 ELSE \
             (SELECT count(*) FROM messages g WHERE g.room_id = r.id AND g.seq > me.last_read_seq \
                AND g.deleted_at IS NULL AND g.author_id <> ?1) END AS unread_count, \
           (SELECT g.created_at FROM messages g WHERE g.room_id = r.id AND g.deleted_at IS NULL \
              ORDER BY g.seq DESC LIMIT 1) AS last_message_at, \
           EXISTS (SELECT 1 FROM invitations i WHERE i.room_id = r.id AND i.user_id = ?1) AS invited \
         FROM rooms r LEFT JOIN memberships me ON me.room_id = r.id AND me.user_id = ?1 "
    };
}

/// The listing's filter: `?2` invited only, `?3` joined only, `?4` folded search text or NULL.
macro_rules! room_list_where {
    () => {
        "WHERE r.deleted_at IS NULL \
           AND CASE WHEN ?2 = 1 THEN EXISTS (SELECT 1 FROM invitations i WHERE i.room_id = r.id AND i.user_id = ?1) \
                    ELSE (r.is_private = 0 OR me.user_id IS NOT NULL) END \
           AND (?3 = 0 OR me.user_id IS NOT NULL) \
           AND (?4 IS NULL OR instr(r.name_key, ?4) > 0 OR instr(coalesce(r.description_key, ''), ?4) > 0) "
    };
}

const FIND_ROOM: &str = concat!(room_view_select!(), "WHERE r.id = ?2 AND r.deleted_at IS NULL");

const LIST_ROOMS: &str =
    concat!(room_view_select!(), room_list_where!(), "ORDER BY r.created_at DESC, r.id DESC LIMIT ?5 OFFSET ?6");

const COUNT_ROOMS: &str = concat!(
    "SELECT count(*) AS total FROM rooms r LEFT JOIN memberships me ON me.room_id = r.id AND me.user_id = ?1 ",
    room_list_where!()
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
        "WHERE id = ?1 AND deleted_at IS NULL AND EXISTS \
           (SELECT 1 FROM memberships m WHERE m.room_id = rooms.id AND m.user_id = ?2 AND m.role = 'admin') "
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
        rows.first().map(room_view).transpose()
    }

    /// One page of the rooms `filter` selects, newest first, and how many there are in all.
    pub fn find_all(&self, filter: &RoomFilter, page: PageRequest) -> Result<(Vec<RoomView>, u64), DbError> {
        let mut params: Vec<SqlValue> = vec![
            filter.caller.to_string().into(),
            filter.invited_only.into(),
            filter.joined_only.into(),
            filter.search.clone().into(),
        ];
        let total = self.db.execute(COUNT_ROOMS, &params)?;
        let total = total.first().map_or(Ok(0), |row| row.integer(0))?;
        params.push(i64::from(page.limit).into());
        params.push(page.offset().into());
        let rows = self.db.execute(LIST_ROOMS, &params)?;
        let rooms = rows.iter().map(room_view).collect::<Result<Vec<_>, _>>()?;
        Ok((rooms, u64::try_from(total).unwrap_or(0)))
    }

    /// Creates the room with `creator` as its admin, both or neither: one transaction.
    pub fn create(&self, room: &NewRoom, creator: &Caller) -> Result<RoomView, ApiError> {
        let id = RoomId::new_random();
        let (created_at, updated_at) = transaction(self.db, |tx| {
            let rows = tx
                .execute(
                    INSERT_ROOM,
                    &[
                        id.to_string().into(),
                        room.name.clone().into(),
                        fold_case(&room.name).into(),
                        room.description.clone().into(),
                        room.description.as_deref().map(fold_case).into(),
                        room.is_private.into(),
                        creator.user_id.to_string().into(),
                    ],
                )
                .map_err(on_unique(Conflict::RoomNameTaken))?;
            let row = rows.first().ok_or_else(|| ApiError::Internal("INSERT rooms returned no row".into()))?;
            let stamps = (row.text(0)?.to_owned(), row.text(1)?.to_owned());
            tx.execute(
                INSERT_ADMIN,
                &[id.to_string().into(), creator.user_id.to_string().into(), creator.display_name.clone().into()],
            )?;
            Ok::<_, ApiError>(stamps)
        })?;
        Ok(RoomView {
            id,
            name: room.name.clone(),
            description: room.description.clone(),
            is_private: room.is_private,
            created_by: creator.user_id,
            created_at,
            updated_at,
            member_count: 1,
            is_member: true,
            role: Some(Role::Admin),
            unread_count: 0,
            last_message_at: None,
            invited: false,
        })
    }

    /// Applies `changes` if `admin` is an admin of the live room; `false` when nothing matched.
    pub fn update(&self, id: RoomId, admin: UserId, changes: &RoomChanges) -> Result<bool, ApiError> {
        let description = changes.description.clone().flatten();
        let rows = self
            .db
            .execute(
                UPDATE_ROOM,
                &[
                    id.to_string().into(),
                    admin.to_string().into(),
                    changes.name.clone().into(),
                    changes.description.is_some().into(),
                    description.clone().into(),
                    changes.name.as_deref().map(fold_case).into(),
                    description.as_deref().map(fold_case).into(),
                    changes.is_private.into(),
                ],
            )
            .map_err(on_unique(Conflict::RoomNameTaken))?;
        Ok(!rows.is_empty())
    }

    /// Soft-deletes the live room if `admin` is its admin; `false` when nothing matched.
    pub fn soft_delete(&self, id: RoomId, admin: UserId) -> Result<bool, DbError> {
        let rows = self.db.execute(SOFT_DELETE_ROOM, &[id.to_string().into(), admin.to_string().into()])?;
        Ok(!rows.is_empty())
    }
}

fn room_view(row: Row<'_>) -> Result<RoomView, DbError> {
    let id = |index| {
        let text = row.text(index)?;
        uuid::Uuid::try_parse(text).map_err(|_| DbError::Decode(format!("column {index}: not a UUID: {text}")))
    };
    let role = row
        .optional_text(8)?
        .map(|r| Role::parse(r).ok_or_else(|| DbError::Decode(format!("role {r}"))))
        .transpose()?;
    Ok(RoomView {
        id: RoomId(id(0)?),
        name: row.text(1)?.to_owned(),
        description: row.optional_text(2)?.map(str::to_owned),
        is_private: row.boolean(3)?,
        created_by: UserId(id(4)?),
        created_at: row.text(5)?.to_owned(),
        updated_at: row.text(6)?.to_owned(),
        member_count: row.integer(7)?,
        is_member: role.is_some(),
        role,
        unread_count: row.integer(9)?,
        last_message_at: row.optional_text(10)?.map(str::to_owned),
        invited: row.boolean(11)?,
    })
}
