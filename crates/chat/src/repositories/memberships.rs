//! `RoomUserRepository`: who is in which room with which role. Every authorization read is
//! [`RoomUserRepository::access`]; the write statements carry their own guards (room live,
//! caller admin, last admin) so concurrent requests cannot break the rules between a check and a
//! write.

use super::guards::{guarded_write, is_admin, is_invited, keeps_an_admin, room_is_live};
use super::{now_sql, Guarded};
use crate::access::{leave_refusal, moderation_refusal, Refusal, RoomAccess};
use crate::auth::Caller;
use crate::db::{Database, DbError, FromRow, Row, SqlValue};
use crate::ids::{RoomId, UserId};
use crate::membership::Membership;
use crate::pagination::PageRequest;
use crate::rooms::Role;

/// The caller's (`?2`) and a target's (`?3`) standing in the live room `?1`: one row, or none
/// when there is no such live room. Decoded by [`RoomAccess`]'s `FromRow`.
const ROOM_ACCESS: &str = "SELECT r.is_private, \
       (SELECT m.role FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?2) AS caller_role, \
       EXISTS (SELECT 1 FROM invitations i WHERE i.room_id = r.id AND i.user_id = ?2) AS caller_invited, \
       (SELECT m.role FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?3) AS target_role, \
       EXISTS (SELECT 1 FROM invitations i WHERE i.room_id = r.id AND i.user_id = ?3) AS target_invited, \
       (SELECT count(*) FROM memberships m WHERE m.room_id = r.id AND m.role = 'admin') AS admin_count, \
       (SELECT m.last_read_seq FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?2) AS last_read_seq \
     FROM rooms r WHERE r.id = ?1 AND r.deleted_at IS NULL";

/// Joins a live room that is public or to which the caller is invited; the read marker starts at
/// the room's newest message. Nothing happens for a member (`ON CONFLICT DO NOTHING`).
const JOIN: &str = concat!(
    "INSERT INTO memberships (room_id, user_id, role, display_name, joined_at, last_read_seq) \
     SELECT r.id, ?2, 'member', ?3, ",
    now_sql!(),
    ", (SELECT coalesce(max(g.seq), 0) FROM messages g WHERE g.room_id = r.id) \
     FROM rooms r WHERE r.id = ?1 AND r.deleted_at IS NULL AND (r.is_private = 0 OR ",
    is_invited!("?1", "?2"),
    ") \
     ON CONFLICT (room_id, user_id) DO NOTHING \
     RETURNING room_id, user_id, display_name, role, joined_at"
);

const FIND_MEMBERSHIP: &str = "SELECT m.room_id, m.user_id, m.display_name, m.role, m.joined_at \
     FROM memberships m JOIN rooms r ON r.id = m.room_id AND r.deleted_at IS NULL \
     WHERE m.room_id = ?1 AND m.user_id = ?2";

/// `?1` room, `?2` target, `?3` caller: the target leaves or is removed by an admin.
const REMOVE_MEMBER: &str = concat!(
    "DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2 AND ",
    room_is_live!("?1"),
    " AND (?2 = ?3 OR ",
    is_admin!("?1", "?3"),
    ") AND ",
    keeps_an_admin!("?1"),
    " RETURNING user_id"
);

/// `?1` room, `?2` target, `?3` caller, `?4` new role.
const SET_ROLE: &str = concat!(
    "UPDATE memberships SET role = ?4 WHERE room_id = ?1 AND user_id = ?2 AND ",
    room_is_live!("?1"),
    " AND ",
    is_admin!("?1", "?3"),
    " AND (?4 = 'admin' OR ",
    keeps_an_admin!("?1"),
    ") RETURNING room_id, user_id, display_name, role, joined_at"
);

/// One page of members and their total (the room's counter) in one statement; a single row with
/// only `total` when the page is empty.
const LIST_MEMBERS: &str = "SELECT r.member_count AS total, p.* FROM rooms r LEFT JOIN \
       (SELECT room_id, user_id, display_name, role, joined_at FROM memberships \
        WHERE room_id = ?1 ORDER BY joined_at, user_id LIMIT ?2 OFFSET ?3) p ON 1 = 1 \
     WHERE r.id = ?1 ORDER BY p.joined_at, p.user_id";

/// What a join did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    Joined(Membership),
    AlreadyMember(Membership),
}

/// Owns all membership SQL.
pub struct RoomUserRepository<'a> {
    db: &'a dyn Database,
}

impl<'a> RoomUserRepository<'a> {
    pub fn new(db: &'a dyn Database) -> Self {
        RoomUserRepository { db }
    }

    /// The caller's standing in a live room (`None`: no such live room), with `target`'s.
    pub fn access_with_target(
        &self,
        room: RoomId,
        caller: UserId,
        target: UserId,
    ) -> Result<Option<RoomAccess>, DbError> {
        let rows = self
            .db
            .execute(ROOM_ACCESS, &[room.to_string().into(), caller.to_string().into(), target.to_string().into()])?;
        rows.decode_first()
    }

    /// The caller's standing in a live room: one statement, the only authorization read a request makes.
    pub fn access(&self, room: RoomId, caller: UserId) -> Result<Option<RoomAccess>, DbError> {
        self.access_with_target(room, caller, caller)
    }

    /// Joins the caller to the room: one INSERT, whose trigger (`memberships_join`, migration
    /// 0002) consumes the invitation. `None`: the room does not exist or is private and the caller
    /// is not invited.
    pub fn join(&self, room: RoomId, caller: &Caller) -> Result<Option<JoinOutcome>, DbError> {
        let params: [SqlValue; 3] =
            [room.to_string().into(), caller.user_id.to_string().into(), caller.display_name.clone().into()];
        // Inserting nothing means already a member, or not let in; a member who leaves between
        // the INSERT and the look-up is tried once more.
        for _ in 0..2 {
            if let Some(row) = self.db.execute(JOIN, &params)?.first() {
                return Ok(Some(JoinOutcome::Joined(Membership::from_row(row)?)));
            }
            if let Some(existing) = self.db.execute(FIND_MEMBERSHIP, &params[..2])?.decode_first()? {
                return Ok(Some(JoinOutcome::AlreadyMember(existing)));
            }
        }
        Ok(None)
    }

    /// Removes `target` from the room: the target itself or an admin. Refusals follow the
    /// contract (404, 403, 409 `LAST_ADMIN`).
    pub fn remove(&self, room: RoomId, target: UserId, caller: UserId) -> Guarded<()> {
        self.remove_explained(room, target, caller, |access| {
            moderation_refusal(access, RoomAccess::target_is_member, target == caller)
        })
    }

    /// The caller leaves the room. As `remove` by oneself, except that a caller who can see the
    /// room but is not in it gets 409 `NOT_MEMBER`.
    pub fn leave(&self, room: RoomId, caller: UserId) -> Guarded<()> {
        self.remove_explained(room, caller, caller, leave_refusal)
    }

    /// The guarded `REMOVE_MEMBER`, a refusal explained by `refusal` from the caller's access.
    fn remove_explained(
        &self,
        room: RoomId,
        target: UserId,
        caller: UserId,
        refusal: impl FnOnce(Option<RoomAccess>) -> Option<Refusal>,
    ) -> Guarded<()> {
        let params = [room.to_string().into(), target.to_string().into(), caller.to_string().into()];
        let remove = |db: &dyn Database| Ok(db.execute(REMOVE_MEMBER, &params)?.first().map(|_| ()));
        let explain =
            |db: &dyn Database| Ok(refusal(RoomUserRepository::new(db).access_with_target(room, caller, target)?));
        guarded_write(self.db, remove, explain)
    }

    /// Gives `target` a new role; only an admin may, and the last admin keeps theirs.
    pub fn set_role(&self, room: RoomId, target: UserId, caller: UserId, role: Role) -> Guarded<Membership> {
        let params =
            [room.to_string().into(), target.to_string().into(), caller.to_string().into(), role.as_str().into()];
        let update = |db: &dyn Database| db.execute(SET_ROLE, &params)?.decode_first();
        let explain = |db: &dyn Database| {
            let access = RoomUserRepository::new(db).access_with_target(room, caller, target)?;
            Ok(moderation_refusal(access, RoomAccess::target_is_member, false))
        };
        guarded_write(self.db, update, explain)
    }

    /// One page of the room's members, `joinedAt` ascending, and how many there are.
    pub fn members(&self, room: RoomId, page: PageRequest) -> Result<(Vec<Membership>, u64), DbError> {
        let rows = self
            .db
            .execute(LIST_MEMBERS, &[room.to_string().into(), i64::from(page.limit).into(), page.offset().into()])?;
        let total: i64 = rows.first().map_or(Ok(0), |row| row.get("total"))?;
        Ok((rows.decode_joined("user_id")?, u64::try_from(total).unwrap_or(0)))
    }
}

impl FromRow for RoomAccess {
    fn from_row(row: Row<'_>) -> Result<Self, DbError> {
        Ok(RoomAccess {
            is_private: row.get("is_private")?,
            role: row.get("caller_role")?,
            invited: row.get("caller_invited")?,
            target_role: row.get("target_role")?,
            target_invited: row.get("target_invited")?,
            admin_count: row.get("admin_count")?,
            last_read_seq: row.get("last_read_seq")?,
        })
    }
}

/// Reads `room_id, user_id, display_name, role, joined_at`.
impl FromRow for Membership {
    fn from_row(row: Row<'_>) -> Result<Self, DbError> {
        Ok(Membership {
            room_id: row.get("room_id")?,
            user_id: row.get("user_id")?,
            display_name: row.get("display_name")?,
            role: row.get("role")?,
            joined_at: row.get("joined_at")?,
        })
    }
}
