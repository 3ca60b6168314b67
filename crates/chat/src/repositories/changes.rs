//! `ChangeFeedRepository`: a room's messages after a change position, in the order of their
//! latest change, each once (migration 0005 keeps `change_seq`, unique per room, in commit
//! order), and the read marker such a page moves. One statement a page.

use super::history::{latest_change_of, standing_columns, standing_joins, HistoryRepository};
use super::messages::message_columns;
use super::Guarded;
use crate::access::{require_member, ReaderAccess};
use crate::changes::ChangeFeedRequest;
use crate::db::{Database, DbError, FromRow, Row};
use crate::ids::{RoomId, UserId};
use crate::messages::Message;

/// The reader's standing, then for a member the room's messages changed after `?3`, in change
/// order, at most `?4`.
const CHANGES_SINCE: &str = concat!(
    "SELECT ",
    standing_columns!(),
    ", m.change_seq, ",
    message_columns!(),
    " ",
    standing_joins!(),
    "LEFT JOIN messages m ON me.user_id IS NOT NULL AND m.room_id = r.id AND m.change_seq > ?3 \
     WHERE r.id = ?1 AND r.deleted_at IS NULL ORDER BY m.change_seq LIMIT ?4"
);

/// The reader's standing, and the room's latest change position.
const STANDING_AND_LATEST_CHANGE: &str = concat!(
    "SELECT ",
    standing_columns!(),
    ", ",
    latest_change_of!("r.id"),
    " AS latest_change ",
    standing_joins!(),
    "WHERE r.id = ?1 AND r.deleted_at IS NULL"
);

/// The room's latest change position alone, for a long-poll watching it.
const LATEST_CHANGE: &str = concat!("SELECT ", latest_change_of!("?1"), " AS latest_change");

/// A page of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    /// In the order of their latest change, each in its current state.
    pub messages: Vec<Message>,
    pub has_more: bool,
    /// Where the next page starts: the last message's change, or where this one started.
    pub next_position: i64,
}

/// A message with the position of its latest change.
struct Changed {
    message: Message,
    change_seq: i64,
}

impl FromRow for Changed {
    fn from_row(row: Row<'_>) -> Result<Self, DbError> {
        Ok(Changed { message: Message::from_row(row)?, change_seq: row.get("change_seq")? })
    }
}

/// Owns the SQL of the change feed.
pub struct ChangeFeedRepository<'a> {
    db: &'a dyn Database,
}

impl<'a> ChangeFeedRepository<'a> {
    pub fn new(db: &'a dyn Database) -> Self {
        ChangeFeedRepository { db }
    }

    /// A member reads the changes of `room` after `request.since` (404, 403 `NOT_MEMBER`
    /// otherwise); without `since`, an empty page whose position is the room's latest change. A
    /// page moves the reader's marker to its newest message, never backwards.
    pub fn read(&self, room: RoomId, reader: UserId, request: &ChangeFeedRequest) -> Guarded<ChangePage> {
        let Some(since) = request.since else { return self.latest(room, reader) };
        let rows = self.db.execute(
            CHANGES_SINCE,
            &[room.to_string().into(), reader.to_string().into(), since.into(), (i64::from(request.limit) + 1).into()],
        )?;
        let access = match require_member(rows.decode_first::<ReaderAccess>()?) {
            Ok(access) => access,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let mut changed: Vec<Changed> = rows.decode_joined("seq")?;
        let has_more = changed.len() > request.limit as usize;
        changed.truncate(request.limit as usize);
        let next_position = changed.last().map_or(since, |last| last.change_seq);
        let newest = changed.iter().map(|c| c.message.seq).max();
        if let Some(newest) = newest.filter(|&seq| access.last_read_seq.is_none_or(|read| seq > read)) {
            HistoryRepository::new(self.db).mark_as_read(room, reader, newest)?;
        }
        let messages = changed.into_iter().map(|c| c.message).collect();
        Ok(Ok(ChangePage { messages, has_more, next_position }))
    }

    /// The latest change position of `room` (0 before any message, or for no such room): what a
    /// long-poll watches. Tells nothing to the client: the pass that follows checks access.
    pub fn latest_change(&self, room: RoomId) -> Result<i64, DbError> {
        let rows = self.db.execute(LATEST_CHANGE, &[room.to_string().into()])?;
        Ok(rows.first().map(|row| row.get::<i64>("latest_change")).transpose()?.unwrap_or(0))
    }

    fn latest(&self, room: RoomId, reader: UserId) -> Guarded<ChangePage> {
        let rows =
            self.db.execute(STANDING_AND_LATEST_CHANGE, &[room.to_string().into(), reader.to_string().into()])?;
        if let Err(refusal) = require_member(rows.decode_first::<ReaderAccess>()?) {
            return Ok(Err(refusal));
        }
        let latest = rows.first().map(|row| row.get::<i64>("latest_change")).transpose()?.unwrap_or(0);
        Ok(Ok(ChangePage { messages: Vec::new(), has_more: false, next_position: latest }))
    }
}
