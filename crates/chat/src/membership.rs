//! Membership, invitations and the access rules every component applies to a room.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Conflict};
use crate::ids::{RoomId, UserId};
use crate::rooms::Role;

/// `{ roomId, userId, displayName, role, joinedAt }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub room_id: RoomId,
    pub user_id: UserId,
    pub display_name: Option<String>,
    pub role: Role,
    pub joined_at: String,
}

/// `{ roomId, userId, invitedBy, createdAt }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub room_id: RoomId,
    pub user_id: UserId,
    pub invited_by: UserId,
    pub created_at: String,
}

/// What one caller may do in a live room, and where another user (the target of a moderation
/// call; the caller again otherwise) stands in it. Read in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomAccess {
    pub is_private: bool,
    pub role: Option<Role>,
    pub invited: bool,
    pub target_role: Option<Role>,
    pub target_invited: bool,
    pub admin_count: i64,
    /// The caller's read marker, when the caller is a member.
    pub last_read_seq: Option<i64>,
}

impl RoomAccess {
    pub fn is_member(&self) -> bool {
        self.role.is_some()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    /// Private rooms are visible to members and invitees only.
    pub fn is_visible(&self) -> bool {
        !self.is_private || self.is_member() || self.invited
    }

    /// Whether the target is the room's only admin.
    pub fn target_is_member(&self) -> bool {
        self.target_role.is_some()
    }

    pub fn target_is_last_admin(&self) -> bool {
        self.target_role == Some(Role::Admin) && self.admin_count <= 1
    }
}

/// 404 for a room that does not exist or that the caller may not see.
pub fn require_visible(access: Option<RoomAccess>) -> Result<RoomAccess, ApiError> {
    access.filter(RoomAccess::is_visible).ok_or(ApiError::NotFound)
}

/// Members only: 404 where the room is invisible, 403 `NOT_MEMBER` where it is visible.
pub fn require_member(access: Option<RoomAccess>) -> Result<RoomAccess, ApiError> {
    let access = require_visible(access)?;
    if access.is_member() {
        Ok(access)
    } else {
        Err(ApiError::NotMember)
    }
}

/// Admins only: 404 where the room is invisible, 403 `FORBIDDEN` where it is visible.
pub fn require_admin(access: Option<RoomAccess>) -> Result<RoomAccess, ApiError> {
    let access = require_visible(access)?;
    if access.is_admin() {
        Ok(access)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Why an admin's change to `target` (role, removal, invitation) did not apply, in the
/// contract's order of checks: the room (404), the target (404 unless `target_exists`), the
/// permission (403: admins, or the target itself when `self_service`), the last admin (409).
pub fn refusal(access: Option<RoomAccess>, target_exists: fn(&RoomAccess) -> bool, self_service: bool) -> ApiError {
    let Ok(access) = require_visible(access) else {
        return ApiError::NotFound;
    };
    if !target_exists(&access) {
        return ApiError::NotFound;
    }
    if !(access.is_admin() || self_service) {
        return ApiError::Forbidden;
    }
    if access.target_is_last_admin() {
        return ApiError::Conflict(Conflict::LastAdmin);
    }
    ApiError::Internal("an allowed change matched no row".into())
}

/// `PUT /api/rooms/:id/members/:userId` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub role: Role,
}

/// `POST /api/rooms/:id/invitations` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InvitationBody {
    user_id: String,
}

impl InvitationBody {
    pub fn user_id(&self) -> Result<UserId, ApiError> {
        UserId::parse_param(&self.user_id, "userId")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(is_private: bool, role: Option<Role>, invited: bool) -> Option<RoomAccess> {
        Some(RoomAccess {
            is_private,
            role,
            invited,
            target_role: role,
            target_invited: invited,
            admin_count: 1,
            last_read_seq: None,
        })
    }

    #[test]
    fn access_matrix() {
        use Role::*;
        // (private, role, invited) → (visible, member route, admin route)
        let table = [
            (false, None, false, Ok(()), Err("NOT_MEMBER"), Err("FORBIDDEN")),
            (true, None, false, Err("NOT_FOUND"), Err("NOT_FOUND"), Err("NOT_FOUND")),
            (true, None, true, Ok(()), Err("NOT_MEMBER"), Err("FORBIDDEN")),
            (true, Some(Member), false, Ok(()), Ok(()), Err("FORBIDDEN")),
            (false, Some(Admin), false, Ok(()), Ok(()), Ok(())),
            (true, Some(Admin), false, Ok(()), Ok(()), Ok(())),
        ];
        let code = |r: Result<RoomAccess, ApiError>| r.map(|_| ()).map_err(|e| e.code());
        for (private, role, invited, visible, member, admin) in table {
            let a = access(private, role, invited);
            assert_eq!(code(require_visible(a)), visible, "{private} {role:?} {invited}");
            assert_eq!(code(require_member(a)), member, "{private} {role:?} {invited}");
            assert_eq!(code(require_admin(a)), admin, "{private} {role:?} {invited}");
        }
        assert_eq!(require_visible(None).unwrap_err(), ApiError::NotFound);
    }
}
