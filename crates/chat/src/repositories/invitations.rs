//! `InvitationRepository`: invitations to rooms. Inviting checks, in the statement itself, that
//! the room is live, the caller is its admin and the invitee is not a member.

use super::guards::{guarded_write, is_admin, is_member, room_is_live};
use super::memberships::RoomUserRepository;
use super::{now_sql, Guarded};
use crate::access::{moderation_refusal, require_admin, Refusal, RoomAccess};
use crate::db::{transaction, Database, DbError, FromRow, Row};
use crate::ids::{RoomId, UserId};
use crate::membership::Invitation;
use crate::pagination::PageRequest;

/// `?1` room, `?2` invitee, `?3` inviting admin.
const INVITE: &str = concat!(
    "INSERT INTO invitations (room_id, user_id, invited_by, created_at) SELECT ?1, ?2, ?3, ",
    now_sql!(),
    " WHERE ",
    room_is_live!("?1"),
    " AND ",
    is_admin!("?1", "?3"),
    " AND NOT ",
    is_member!("?1", "?2"),
    " ON CONFLICT (room_id, user_id) DO NOTHING \
     RETURNING room_id, user_id, invited_by, created_at"
);

const FIND_INVITATION: &str =
    "SELECT room_id, user_id, invited_by, created_at FROM invitations WHERE room_id = ?1 AND user_id = ?2";

const REVOKE: &str = concat!(
    "DELETE FROM invitations WHERE room_id = ?1 AND user_id = ?2 AND ",
    room_is_live!("?1"),
    " AND ",
    is_admin!("?1", "?3"),
    " RETURNING user_id"
);

/// One page of invitations and their total in one statement; a single row with only `total`
/// when the page is empty.
const LIST_INVITATIONS: &str = "SELECT t.total, p.* FROM \
       (SELECT count(*) AS total FROM invitations WHERE room_id = ?1) t LEFT JOIN \
       (SELECT room_id, user_id, invited_by, created_at FROM invitations \
        WHERE room_id = ?1 ORDER BY created_at, user_id LIMIT ?2 OFFSET ?3) p ON 1 = 1 \
     ORDER BY p.created_at, p.user_id";

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

    /// Invites `invitee`. When nothing was inserted, the invitation that already exists is the
    /// answer if the caller may invite. A refusal (404, 403, 409 `ALREADY_MEMBER`) is worked out
    /// again inside one transaction with a second try of the insert, so it describes the state
    /// that insert saw.
    pub fn invite(&self, room: RoomId, invitee: UserId, admin: UserId) -> Guarded<InviteOutcome> {
        let params = [room.to_string().into(), invitee.to_string().into(), admin.to_string().into()];
        let invite_or_find = |db: &dyn Database| -> Guarded<Option<InviteOutcome>> {
            if let Some(invited) = db.execute(INVITE, &params)?.decode_first()? {
                return Ok(Ok(Some(InviteOutcome::Invited(invited))));
            }
            let access = require_admin(RoomUserRepository::new(db).access_with_target(room, admin, invitee)?);
            match access {
                Err(refusal) => Ok(Err(refusal)),
                Ok(access) if access.target_is_member() => Ok(Err(Refusal::AlreadyMember)),
                Ok(_) => {
                    let existing = db.execute(FIND_INVITATION, &params[..2])?;
                    Ok(Ok(existing.decode_first()?.map(InviteOutcome::AlreadyInvited)))
                }
            }
        };
        if let Ok(Some(outcome)) = invite_or_find(self.db)? {
            return Ok(Ok(outcome));
        }
        transaction(self.db, |tx| match invite_or_find(tx)? {
            Ok(Some(outcome)) => Ok(Ok(outcome)),
            Err(refusal) => Ok(Err(refusal)),
            Ok(None) => Err(DbError::Other("an invitation was neither inserted nor found".into())),
        })
    }

    /// Revokes `invitee`'s invitation; when nothing matched, says why (404, 403).
    pub fn revoke(&self, room: RoomId, invitee: UserId, admin: UserId) -> Guarded<()> {
        let params = [room.to_string().into(), invitee.to_string().into(), admin.to_string().into()];
        let revoke = |db: &dyn Database| Ok(db.execute(REVOKE, &params)?.first().map(|_| ()));
        let explain = |db: &dyn Database| {
            let access = RoomUserRepository::new(db).access_with_target(room, admin, invitee)?;
            Ok(moderation_refusal(access, RoomAccess::target_is_invited, false))
        };
        guarded_write(self.db, revoke, explain)
    }

    /// One page of the room's pending invitations, oldest first, and how many there are.
    pub fn list(&self, room: RoomId, page: PageRequest) -> Result<(Vec<Invitation>, u64), DbError> {
        let rows = self.db.execute(
            LIST_INVITATIONS,
            &[room.to_string().into(), i64::from(page.limit).into(), page.offset().into()],
        )?;
        let total: i64 = rows.first().map_or(Ok(0), |row| row.get("total"))?;
        Ok((rows.decode_joined("user_id")?, u64::try_from(total).unwrap_or(0)))
    }
}

impl FromRow for Invitation {
    fn from_row(row: Row<'_>) -> Result<Self, DbError> {
        Ok(Invitation {
            room_id: row.get("room_id")?,
            user_id: row.get("user_id")?,
            invited_by: row.get("invited_by")?,
            created_at: row.get("created_at")?,
        })
    }
}
