//! Membership and invitations: the objects served and the bodies of the moderation routes.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
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
