//! `HistoryRepository`: pages of a room's history, whole or filtered (`replyTo`, `search`), in one
//! statement each, and the read marker they move.
//!
//! History is ordered by `seq`, which the store assigns in commit order, so cursors never skip or
//! repeat a message however many share a timestamp. Every page is one statement that reads the
//! reader's standing with the messages, and the `LIMIT` stops the scan at `limit + 1` rows:
//! - history: a range of the `(room_id, seq)` index;
//! - `replyTo`: a range of the `(reply_to, seq)` index;
//! - `search` of 3 characters or more: the FTS5 trigram index `message_search`, whose rowids put a
//!   room's messages in one range in history order (migration 0004), so the search reads only its
//!   room's matches and stops at `limit + 1`, whatever the other rooms hold;
//! - `search` of 1 or 2 characters, which no trigram answers: the room's live messages, newest
//!   first, checked with `instr` on the partial index `(room_id, seq, content_key)` until
//!   `limit + 1` match: a cost that grows with the room's own history only (measured in
//!   `scripts/bench`).
//!
//! A match is always confirmed with `instr` on the folded content, so the index only narrows.

use super::guards::is_message_of;
use super::messages::message_columns;
use super::Guarded;
use crate::access::{require_member, ReaderAccess, Refusal};
use crate::db::{Database, DbError, FromRow, Row, SqlValue};
use crate::history::{MessagePageRequest, PageStart};
use crate::ids::{RoomId, UserId};
use crate::messages::Message;

/// The reader's standing in a room (`?2` the reader): its columns, read by [`ReaderAccess`]'s
/// `FromRow`, and the joins they come from (the room as `r`).
macro_rules! standing_columns {
    () => {
        "r.is_private, me.role AS caller_role, me.last_read_seq, inv.user_id IS NOT NULL AS caller_invited"
    };
}
pub(crate) use standing_columns;

macro_rules! standing_joins {
    () => {
        "FROM rooms r \
         LEFT JOIN memberships me ON me.room_id = r.id AND me.user_id = ?2 \
         LEFT JOIN invitations inv ON inv.room_id = r.id AND inv.user_id = ?2 "
    };
}
pub(crate) use standing_joins;

/// The latest change position of the room `$room` (0 before any message): one index seek.
macro_rules! latest_change_of {
    ($room:literal) => {
        concat!("coalesce((SELECT max(change_seq) FROM messages WHERE room_id = ", $room, "), 0)")
    };
}
pub(crate) use latest_change_of;

/// The reader's standing in the live room `?1` (`?2` the reader), then, for a member only, the
/// rows `$messages` joins as `m` (a table or a subquery), ordered `$order`, at most `?4`. One row
/// per message, or one row with only the standing; no row: no such live room. With `?5`, a
/// `replyTo`, also whether it is a message of this room. Also the room's latest change position,
/// read with the page, which a long-poll holding an empty page watches.
macro_rules! reader_page {
    ($messages:expr, $order:literal) => {
        concat!(
            "SELECT ",
            standing_columns!(),
            ", ",
            is_message_of!("?1", "?5"),
            " AS reply_target_found, ",
            latest_change_of!("?1"),
            " AS latest_change, ",
            message_columns!(),
            " ",
            standing_joins!(),
            "LEFT JOIN ",
            $messages,
            " WHERE r.id = ?1 AND r.deleted_at IS NULL ORDER BY m.seq ",
            $order,
            " LIMIT ?4"
        )
    };
}

/// The room's messages with `seq` strictly between `?3` and `?8`, and `$filter`.
macro_rules! in_range {
    ($filter:expr) => {
        concat!("messages m ON me.user_id IS NOT NULL AND m.room_id = r.id AND m.seq > ?3 AND m.seq < ?8 ", $filter)
    };
}

/// A live message (`$m`) whose folded content holds the folded search `?6`, among the replies of
/// `?5` when it is given.
macro_rules! matching {
    ($m:literal) => {
        concat!(
            "AND ",
            $m,
            ".deleted_at IS NULL AND instr(",
            $m,
            ".content_key, ?6) > 0 AND (?5 IS NULL OR ",
            $m,
            ".reply_to = ?5)"
        )
    };
}

/// The first rowid of the room's range in `message_search` (NULL: no message of the room was
/// ever indexed). A message's rowid is this plus [`LAST_SEQ`] minus its `seq`: newest first.
macro_rules! room_base {
    () => {
        "(SELECT number << 40 FROM message_search_rooms WHERE room_id = ?1)"
    };
}

/// The matches of the FTS5 phrase `?7` in the room's range for `seq` between `?3` and `?8`,
/// confirmed by [`matching!`], the first `?4` in FTS5's `$order` (`ASC`: newest first), as `m`.
macro_rules! by_trigrams {
    ($order:literal) => {
        concat!(
            "(SELECT hit.* FROM message_search s JOIN messages hit ON hit.seq = 1099511627775 - (s.rowid - ",
            room_base!(),
            ") WHERE message_search MATCH ?7 AND s.rowid > ",
            room_base!(),
            " + 1099511627775 - ?8 AND s.rowid < ",
            room_base!(),
            " + 1099511627775 - ?3 AND hit.room_id = ?1 ",
            matching!("hit"),
            " ORDER BY s.rowid ",
            $order,
            " LIMIT ?4) m ON me.user_id IS NOT NULL"
        )
    };
}

const OLDER: [&str; 4] = [
    reader_page!(in_range!(""), "DESC"),
    reader_page!(in_range!("AND m.reply_to = ?5"), "DESC"),
    reader_page!(in_range!(matching!("m")), "DESC"),
    reader_page!(by_trigrams!("ASC"), "DESC"),
];

const NEWER: [&str; 4] = [
    reader_page!(in_range!(""), "ASC"),
    reader_page!(in_range!("AND m.reply_to = ?5"), "ASC"),
    reader_page!(in_range!(matching!("m")), "ASC"),
    reader_page!(by_trigrams!("DESC"), "ASC"),
];

/// The largest `seq` the search index can hold (migration 0004): `1099511627775` in its SQL.
const LAST_SEQ: i64 = (1 << 40) - 1;

/// Past every `seq`.
const END_OF_HISTORY: i64 = LAST_SEQ + 1;

/// Moves a member's read marker forward, never back.
const MARK_AS_READ: &str =
    "UPDATE memberships SET last_read_seq = ?3 WHERE room_id = ?1 AND user_id = ?2 AND last_read_seq < ?3";

/// A page of history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// More exist in the direction travelled (older for newest/before, newer for after).
    pub has_more: bool,
    /// Something older than the first message of the page exists.
    pub has_older: bool,
    /// The room's latest change position when the page was read.
    pub latest_change: i64,
}

/// Owns the SQL of history pages.
pub struct HistoryRepository<'a> {
    db: &'a dyn Database,
}

impl<'a> HistoryRepository<'a> {
    pub fn new(db: &'a dyn Database) -> Self {
        HistoryRepository { db }
    }

    /// A member reads a page of `room`'s history (404, 403 `NOT_MEMBER` otherwise; 404 also for a
    /// `replyTo` that is no message of the room). A page that reaches past the reader's marker
    /// moves it to the page's newest message, but for a search; polls of history already read
    /// write nothing.
    pub fn read_page(&self, room: RoomId, reader: UserId, request: &MessagePageRequest) -> Guarded<MessagePage> {
        let (lower, upper, newest_first) = match request.start {
            PageStart::Newest => (0, END_OF_HISTORY, true),
            PageStart::Before(seq) => (0, seq, true),
            PageStart::After(seq) => (seq, END_OF_HISTORY, false),
        };
        let variant = match &request.search {
            Some(search) if search.uses_trigrams() => 3,
            Some(_) => 2,
            None if request.reply_to.is_some() => 1,
            None => 0,
        };
        let sql = if newest_first { OLDER[variant] } else { NEWER[variant] };
        let search = request.search.as_ref().map(|search| search.folded());
        let rows = self.db.execute(
            sql,
            &[
                room.to_string().into(),
                reader.to_string().into(),
                lower.into(),
                (i64::from(request.limit) + 1).into(),
                request.reply_to.map(|id| id.to_string()).into(),
                search.into(),
                search.map(fts5_phrase).into(),
                upper.into(),
            ],
        )?;
        let access = match require_member(rows.decode_first::<ReaderAccess>()?) {
            Ok(access) => access,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let reply_target_found = rows.first().map(|row| row.get::<bool>("reply_target_found")).transpose()?;
        let latest_change = rows.first().map(|row| row.get::<i64>("latest_change")).transpose()?.unwrap_or(0);
        if request.reply_to.is_some() && reply_target_found != Some(true) {
            return Ok(Err(Refusal::NotFound));
        }
        let mut messages: Vec<Message> = rows.decode_joined("seq")?;
        let has_more = messages.len() > request.limit as usize;
        messages.truncate(request.limit as usize);
        // Older pages come newest first (to keep the `limit` nearest the bound); then oldest first.
        if newest_first {
            messages.reverse();
        }
        // An `after` page starts past a message it was given the cursor of, so something older
        // exists whenever it has messages; older pages have more older ones exactly when the
        // `limit + 1`th row came back.
        let has_older = if newest_first { has_more } else { !messages.is_empty() };
        let unread = messages.last().filter(|m| access.last_read_seq.is_none_or(|read| m.seq > read));
        if let Some(newest) = unread.filter(|_| request.marks_as_read()) {
            self.mark_as_read(room, reader, newest.seq)?;
        }
        Ok(Ok(MessagePage { messages, has_more, has_older, latest_change }))
    }

    /// Moves `user`'s read marker in `room` forward to `seq` (never backwards).
    pub(crate) fn mark_as_read(&self, room: RoomId, user: UserId, seq: i64) -> Result<(), DbError> {
        self.db.execute(MARK_AS_READ, &[room.to_string().into(), user.to_string().into(), seq.into()])?;
        Ok(())
    }
}

/// The folded search as one FTS5 phrase: in double quotes, a `"` doubled, so no character acts as
/// an operator; U+0000, where FTS5's tokenizer stops, as the index holds it (migration 0004).
fn fts5_phrase(folded: &str) -> SqlValue {
    format!("\"{}\"", folded.replace('"', "\"\"").replace('\0', NUL_IN_SEARCH_INDEX)).into()
}

/// What the search index holds for U+0000 (a noncharacter, so a phrase holding it matches only
/// where the content held U+0000 or this character; `instr` then decides).
pub(crate) const NUL_IN_SEARCH_INDEX: &str = "\u{FDD0}";

/// The standing columns of [`reader_page!`].
impl FromRow for ReaderAccess {
    fn from_row(row: Row<'_>) -> Result<Self, DbError> {
        let role: Option<crate::rooms::Role> = row.get("caller_role")?;
        Ok(ReaderAccess {
            is_private: row.get("is_private")?,
            role,
            invited: row.get("caller_invited")?,
            last_read_seq: if role.is_some() { row.get("last_read_seq")? } else { None },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_statements_and_migration_0004_agree_on_the_last_seq() {
        let literal = LAST_SEQ.to_string();
        assert_eq!(literal, "1099511627775");
        assert!(OLDER[3].contains(&literal) && NEWER[3].contains(&literal));
        let migration = include_str!("../../../../migrations/0004_messages_v1_2.sql");
        assert_eq!(migration.matches(&format!("{literal} - ")).count(), 3, "the two inserts and the delete");
    }
}
