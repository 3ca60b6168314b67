//! History pages: where a page starts, and the filters over history (`replyTo`, `search`).

use crate::cursor::CursorCodec;
use crate::error::ApiError;
use crate::ids::{MessageId, RoomId};
use crate::long_poll::Wait;
use crate::request::Query;
use crate::text;

pub const DEFAULT_MESSAGE_LIMIT: u32 = 50;
pub const MAX_MESSAGE_LIMIT: u32 = 100;
pub const SEARCH_MAX_CHARS: usize = 100;

/// Where a page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// The newest messages.
    Newest,
    /// Messages just older than this sequence.
    Before(i64),
    /// Messages just newer than this sequence.
    After(i64),
}

/// A validated `GET .../messages` query: where the page starts, and the filter over history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePageRequest {
    pub start: PageStart,
    pub limit: u32,
    /// `search`: live messages whose content holds it.
    pub search: Option<SearchText>,
    /// `replyTo`: the replies of this message.
    pub reply_to: Option<MessageId>,
    /// `wait`: a long-poll (newest and `after` pages only).
    pub wait: Wait,
}

impl MessagePageRequest {
    pub fn from_query(query: &Query, room: RoomId, cursors: &CursorCodec) -> Result<Self, ApiError> {
        let limit = query.integer_in("limit", 1..=MAX_MESSAGE_LIMIT, DEFAULT_MESSAGE_LIMIT)?;
        let start = match (query.get("before")?, query.get("after")?) {
            (Some(_), Some(_)) => return Err(ApiError::invalid("before", "give before or after, not both")),
            (Some(cursor), None) => PageStart::Before(cursors.decode(room, cursor, "before")?),
            (None, Some(cursor)) => PageStart::After(cursors.decode(room, cursor, "after")?),
            (None, None) => PageStart::Newest,
        };
        let search = query.get("search")?.map(SearchText::parse).transpose()?;
        let reply_to = query.get("replyTo")?.map(|id| MessageId::parse_param(id, "replyTo")).transpose()?;
        let wait = Wait::from_query(query)?;
        if matches!(start, PageStart::Before(_)) && wait != Wait::default() {
            return Err(ApiError::invalid("wait", "cannot wait for older messages: give after or no cursor"));
        }
        Ok(MessagePageRequest { start, limit, search, reply_to, wait })
    }

    /// The newest `limit` messages of the whole history.
    pub fn newest(limit: u32) -> Self {
        MessagePageRequest { start: PageStart::Newest, limit, search: None, reply_to: None, wait: Wait::default() }
    }

    /// Whether the page moves the reader's read marker: every page but a search's.
    pub fn marks_as_read(&self) -> bool {
        self.search.is_none()
    }
}

/// A history search: 1-100 characters after trimming, folded as room names are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub fn parse(text: &str) -> Result<SearchText, ApiError> {
        let trimmed = text::bounded("search", text, 1, SEARCH_MAX_CHARS).map_err(|e| ApiError::Validation(vec![e]))?;
        Ok(SearchText(text::fold_case(&trimmed)))
    }

    /// The folded text, compared as a literal substring of a message's folded content.
    pub fn folded(&self) -> &str {
        &self.0
    }

    /// Whether the trigram index can answer it: 3 characters or more once folded.
    pub fn uses_trigrams(&self) -> bool {
        self.0.chars().nth(2).is_some()
    }
}
