//! The change feed (`GET /api/rooms/:id/changes`): a room's messages in the order of their latest
//! change (sent, edited, deleted, or their reactions changed), followed with opaque tokens.

use crate::cursor::CursorCodec;
use crate::error::ApiError;
use crate::ids::RoomId;
use crate::long_poll::Wait;
use crate::request::Query;

pub const DEFAULT_CHANGE_LIMIT: u32 = 50;
pub const MAX_CHANGE_LIMIT: u32 = 100;

/// A validated change-feed query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeFeedRequest {
    /// The change position of `since`; none: the request asks for a token that stands for now.
    pub since: Option<i64>,
    pub limit: u32,
    pub wait: Wait,
}

impl ChangeFeedRequest {
    pub fn from_query(query: &Query, room: RoomId, tokens: &CursorCodec) -> Result<Self, ApiError> {
        let limit = query.integer_in("limit", 1..=MAX_CHANGE_LIMIT, DEFAULT_CHANGE_LIMIT)?;
        let since = query.get("since")?.map(|token| tokens.decode_token(room, token, "since")).transpose()?;
        Ok(ChangeFeedRequest { since, limit, wait: Wait::from_query(query)? })
    }
}
