//! `RoomUserRepository`: who is in which room with which role. Every component's authorization
//! reads [`RoomUserRepository::access`]; the write statements carry their own guards (room live,
//! caller admin, last admin) so concurrent requests cannot break the rules between a check and a
//! write.

use super::now_sql;
use crate::auth::Caller;
use crate::db::{transaction, Database, DbError, Row};
use crate::error::{ApiError, Conflict};
use crate::ids::{RoomId, UserId};
use crate::membership::{refusal, Membership, RoomAccess};
use crate::pagination::PageRequest;
use crate::rooms::Role;

/// `?1` room, `?2` caller, `?3` target.
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
     FROM rooms r WHERE r.id = ?1 AND r.deleted_at IS NULL AND (r.is_private = 0 OR EXISTS \
       (SELECT 1 FROM invitations i WHERE i.room_id = r.id AND i.user_id = ?2)) \
     ON CONFLICT (room_id, user_id) DO NOTHING \
     RETURNING room_id, user_id, display_name, role, joined_at"
);

const CONSUME_INVITATION: &str = "DELETE FROM invitations WHERE room_id = ?1 AND user_id = ?2";

const FIND_MEMBERSHIP: &str = "SELECT m.room_id, m.user_id, m.display_name, m.role, m.joined_at \
     FROM memberships m JOIN rooms r ON r.id = m.room_id AND r.deleted_at IS NULL \
     WHERE m.room_id = ?1 AND m.user_id = ?2";

/// The last admin is never removed: the guard is part of the statement, which SQLite and libSQL
/// run under the write lock, so two admins leaving at once cannot both pass it.
macro_rules! keeps_an_admin {
    () => {
        "(role <> 'admin' OR (SELECT count(*) FROM memberships a WHERE a.room_id = ?1 AND a.role = 'admin') > 1)"
    };
}

macro_rules! in_live_room {
    () => {
        "EXISTS (SELECT 1 FROM rooms r WHERE r.id = ?1 AND r.deleted_at IS NULL)"
    };
}

macro_rules! caller_is_admin {
    () => {
        "EXISTS (SELECT 1 FROM memberships c WHERE c.room_id = ?1 AND c.user_id = ?3 AND c.role = 'admin')"
    };
}

/// `?1` room, `?2` target, `?3` caller: the target leaves or is removed by an admin.
const REMOVE_MEMBER: &str = concat!(
    "DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2 AND ",
    in_live_room!(),
    " AND (?2 = ?3 OR ",
    caller_is_admin!(),
    ") AND ",
    keeps_an_admin!(),
    " RETURNING user_id"
);

/// `?1` room, `?2` target, `?3` caller, `?4` new role.
const SET_ROLE: &str = concat!(
    "UPDATE memberships SET role = ?4 WHERE room_id = ?1 AND user_id = ?2 AND ",
    in_live_room!(),
    " AND ",
    caller_is_admin!(),
    " AND (?4 = 'admin' OR ",
    keeps_an_admin!(),
    ") RETURNING room_id, user_id, display_name, role, joined_at"
);

const COUNT_MEMBERS: &str = "SELECT count(*) AS total FROM memberships WHERE room_id = ?1";

const LIST_MEMBERS: &str = "SELECT room_id, user_id, display_name, role, joined_at FROM memberships \
     WHERE room_id = ?1 ORDER BY joined_at, user_id LIMIT ?2 OFFSET ?3";

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
        rows.first().map(room_access).transpose()
    }

    /// The caller's standing in a live room: one statement, the only authorization read a request makes.
    pub fn access(&self, room: RoomId, caller: UserId) -> Result<Option<RoomAccess>, DbError> {
        self.access_with_target(room, caller, caller)
    }

    pub fn is_user_in_room(&self, room: RoomId, user: UserId) -> Result<bool, DbError> {
        Ok(self.access(room, user)?.is_some_and(|a| a.is_member()))
    }

    /// Joins the caller to the room, consuming an invitation, in one transaction. `None`: the
    /// room does not exist or is private and the caller is not invited.
    pub fn join(&self, room: RoomId, caller: &Caller) -> Result<Option<JoinOutcome>, ApiError> {
        let room_id = room.to_string();
        let user_id = caller.user_id.to_string();
        transaction(self.db, |tx| {
            let joined = tx
                .execute(JOIN, &[room_id.clone().into(), user_id.clone().into(), caller.display_name.clone().into()])?;
            if let Some(row) = joined.first() {
                tx.execute(CONSUME_INVITATION, &[room_id.clone().into(), user_id.clone().into()])?;
                return Ok(Some(JoinOutcome::Joined(membership(row)?)));
            }
            let existing = tx.execute(FIND_MEMBERSHIP, &[room_id.clone().into(), user_id.clone().into()])?;
            Ok(existing.first().map(membership).transpose()?.map(JoinOutcome::AlreadyMember))
        })
    }

    /// Removes `target` from the room: the target itself or an admin. Refusals are explained per
    /// the contract (404, 403, 409 `LAST_ADMIN`).
    pub fn remove(&self, room: RoomId, target: UserId, caller: UserId) -> Result<(), ApiError> {
        self.remove_explained(room, target, caller, ApiError::NotFound)
    }

    /// The caller leaves the room. As `remove`, except that a caller who can see the room but is
    /// not in it gets 409 `NOT_MEMBER`.
    pub fn leave(&self, room: RoomId, caller: UserId) -> Result<(), ApiError> {
        self.remove_explained(room, caller, caller, ApiError::Conflict(Conflict::NotMember))
    }

    /// `not_member` answers a visible room whose target is not a member.
    fn remove_explained(
        &self,
        room: RoomId,
        target: UserId,
        caller: UserId,
        not_member: ApiError,
    ) -> Result<(), ApiError> {
        let params = [room.to_string().into(), target.to_string().into(), caller.to_string().into()];
        let remove = |db: &dyn Database| Ok(db.execute(REMOVE_MEMBER, &params)?.first().map(|_| ()));
        let explain = |db: &dyn Database| {
            let access = RoomUserRepository::new(db).access_with_target(room, caller, target)?;
            Ok(match access.filter(RoomAccess::is_visible) {
                Some(visible) if !visible.target_is_member() => not_member,
                _ => refusal(access, RoomAccess::target_is_member, target == caller),
            })
        };
        guarded_write(self.db, remove, explain)
    }

    /// Gives `target` a new role; only an admin may, and the last admin keeps theirs.
    pub fn set_role(&self, room: RoomId, target: UserId, caller: UserId, role: Role) -> Result<Membership, ApiError> {
        let params =
            [room.to_string().into(), target.to_string().into(), caller.to_string().into(), role.as_str().into()];
        let update = |db: &dyn Database| Ok(db.execute(SET_ROLE, &params)?.first().map(membership).transpose()?);
        let explain = |db: &dyn Database| {
            let access = RoomUserRepository::new(db).access_with_target(room, caller, target)?;
            Ok(refusal(access, RoomAccess::target_is_member, false))
        };
        guarded_write(self.db, update, explain)
    }

    /// One page of the room's members, `joinedAt` ascending, and how many there are.
    pub fn members(&self, room: RoomId, page: PageRequest) -> Result<(Vec<Membership>, u64), DbError> {
        let total = self.db.execute(COUNT_MEMBERS, &[room.to_string().into()])?;
        let total = total.first().map_or(Ok(0), |row| row.integer(0))?;
        let rows = self
            .db
            .execute(LIST_MEMBERS, &[room.to_string().into(), i64::from(page.limit).into(), page.offset().into()])?;
        let members = rows.iter().map(membership).collect::<Result<Vec<_>, _>>()?;
        Ok((members, u64::try_from(total).unwrap_or(0)))
    }
}

/// Runs a write whose statement carries its own guards. On the hot path that is one statement.
/// When the guards refuse, the write is tried again and the refusal explained inside one
/// `BEGIN IMMEDIATE` transaction, so the explanation describes the state the write saw (a
/// concurrent change cannot turn a 409 into a 500).
pub(crate) fn guarded_write<T>(
    db: &dyn Database,
    write: impl Fn(&dyn Database) -> Result<Option<T>, ApiError>,
    explain: impl FnOnce(&dyn Database) -> Result<ApiError, ApiError>,
) -> Result<T, ApiError> {
    if let Some(done) = write(db)? {
        return Ok(done);
    }
    transaction(db, |tx| match write(tx)? {
        Some(done) => Ok(done),
        None => Err(explain(tx)?),
    })
}

fn role(text: Option<&str>) -> Result<Option<Role>, DbError> {
    text.map(|r| Role::parse(r).ok_or_else(|| DbError::Decode(format!("role {r}")))).transpose()
}

fn room_access(row: Row<'_>) -> Result<RoomAccess, DbError> {
    Ok(RoomAccess {
        is_private: row.boolean(0)?,
        role: role(row.optional_text(1)?)?,
        invited: row.boolean(2)?,
        target_role: role(row.optional_text(3)?)?,
        target_invited: row.boolean(4)?,
        admin_count: row.integer(5)?,
        last_read_seq: row.optional_integer(6)?,
    })
}

pub(crate) fn uuid_at(row: Row<'_>, index: usize) -> Result<uuid::Uuid, DbError> {
    let text = row.text(index)?;
    uuid::Uuid::try_parse(text).map_err(|_| DbError::Decode(format!("column {index}: not a UUID: {text}")))
}

/// Reads `room_id, user_id, display_name, role, joined_at`.
fn membership(row: Row<'_>) -> Result<Membership, DbError> {
    Ok(Membership {
        room_id: RoomId(uuid_at(row, 0)?),
        user_id: UserId(uuid_at(row, 1)?),
        display_name: row.optional_text(2)?.map(str::to_owned),
        role: role(Some(row.text(3)?))?.ok_or_else(|| DbError::Decode("role".into()))?,
        joined_at: row.text(4)?.to_owned(),
    })
}
