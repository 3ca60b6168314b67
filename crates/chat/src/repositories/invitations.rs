//! `InvitationRepository`: invitations to rooms. Inviting checks, in the statement itself, that
//! the room is live, the caller is its admin and the invitee is not a member.

use super::memberships::{guarded_write, uuid_at, RoomUserRepository};
use super::now_sql;
use crate::db::{Database, DbError, Row};
use crate::error::{ApiError, Conflict};
use crate::ids::{RoomId, UserId};
use crate::membership::{refusal, require_admin, Invitation};
use crate::pagination::PageRequest;

/// `?1` room, `?2` invitee, `?3` inviting admin.
const INVITE: &str = concat!(
    "INSERT INTO invitations (room_id, user_id, invited_by, created_at) SELECT ?1, ?2, ?3, ",
    now_sql!(),
    " WHERE EXISTS (SELECT 1 FROM rooms r WHERE r.id = ?1 AND r.deleted_at IS NULL) \
       AND EXISTS (SELECT 1 FROM memberships c WHERE c.room_id = ?1 AND c.user_id = ?3 AND c.role = 'admin') \
       AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = ?1 AND m.user_id = ?2) \
     ON CONFLICT (room_id, user_id) DO NOTHING \
     RETURNING room_id, user_id, invited_by, created_at"
);

const FIND_INVITATION: &str =
    "SELECT room_id, user_id, invited_by, created_at FROM invitations WHERE room_id = ?1 AND user_id = ?2";

const REVOKE: &str = "DELETE FROM invitations WHERE room_id = ?1 AND user_id = ?2 \
       AND EXISTS (SELECT 1 FROM rooms r WHERE r.id = ?1 AND r.deleted_at IS NULL) \
       AND EXISTS (SELECT 1 FROM memberships c WHERE c.room_id = ?1 AND c.user_id = ?3 AND c.role = 'admin') \
     RETURNING user_id";

const COUNT_INVITATIONS: &str = "SELECT count(*) AS total FROM invitations WHERE room_id = ?1";

const LIST_INVITATIONS: &str = "SELECT room_id, user_id, invited_by, created_at FROM invitations \
     WHERE room_id = ?1 ORDER BY created_at, user_id LIMIT ?2 OFFSET ?3";

/// What an invite did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteOutcome {
    Invited(Invitation),
    AlreadyInvited(Invitation),
}

/// Owns all invitation SQL.
pub struct InvitationRepository<'a> {
    db: &'a dyn Database,
}

impl<'a> InvitationRepository<'a> {
    pub fn new(db: &'a dyn Database) -> Self {
        InvitationRepository { db }
    }

    /// Invites `invitee`; when nothing was inserted, says why (404, 403, 409 `ALREADY_MEMBER`)
    /// or finds the invitation that already exists.
    pub fn invite(&self, room: RoomId, invitee: UserId, admin: UserId) -> Result<InviteOutcome, ApiError> {
        let params = [room.to_string().into(), invitee.to_string().into(), admin.to_string().into()];
        let insert = |db: &dyn Database| {
            if let Some(row) = db.execute(INVITE, &params)?.first() {
                return Ok(Some(InviteOutcome::Invited(invitation(row)?)));
            }
            // Nothing inserted: the invitation that exists is the answer, if the caller may invite.
            let access = require_admin(RoomUserRepository::new(db).access_with_target(room, admin, invitee)?)?;
            if access.target_is_member() {
                return Err(ApiError::Conflict(Conflict::AlreadyMember));
            }
            let existing = db.execute(FIND_INVITATION, &[room.to_string().into(), invitee.to_string().into()])?;
            Ok(existing.first().map(invitation).transpose()?.map(InviteOutcome::AlreadyInvited))
        };
        let explain = |_: &dyn Database| Ok(ApiError::Internal("invitation neither inserted nor found".into()));
        guarded_write(self.db, insert, explain)
    }

    /// Revokes `invitee`'s invitation; when nothing matched, says why (404, 403).
    pub fn revoke(&self, room: RoomId, invitee: UserId, admin: UserId) -> Result<(), ApiError> {
        let params = [room.to_string().into(), invitee.to_string().into(), admin.to_string().into()];
        let revoke = |db: &dyn Database| Ok(db.execute(REVOKE, &params)?.first().map(|_| ()));
        let explain = |db: &dyn Database| {
            let access = RoomUserRepository::new(db).access_with_target(room, admin, invitee)?;
            Ok(refusal(access, |a| a.target_invited, false))
        };
        guarded_write(self.db, revoke, explain)
    }

    /// One page of the room's pending invitations, oldest first, and how many there are.
    pub fn list(&self, room: RoomId, page: PageRequest) -> Result<(Vec<Invitation>, u64), DbError> {
        let total = self.db.execute(COUNT_INVITATIONS, &[room.to_string().into()])?;
        let total = total.first().map_or(Ok(0), |row| row.integer(0))?;
        let rows = self.db.execute(
            LIST_INVITATIONS,
            &[room.to_string().into(), i64::from(page.limit).into(), page.offset().into()],
        )?;
        let invitations = rows.iter().map(invitation).collect::<Result<Vec<_>, _>>()?;
        Ok((invitations, u64::try_from(total).unwrap_or(0)))
    }
}

fn invitation(row: Row<'_>) -> Result<Invitation, DbError> {
    Ok(Invitation {
        room_id: RoomId(uuid_at(row, 0)?),
        user_id: UserId(uuid_at(row, 1)?),
        invited_by: UserId(uuid_at(row, 2)?),
        created_at: row.text(3)?.to_owned(),
    })
}
