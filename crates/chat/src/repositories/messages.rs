//! `MessageRepository`: history pages, sending (with idempotency), soft delete and read markers.
//!
//! History is ordered by `seq`, which the store assigns in commit order, so cursors never skip or
//! repeat a message however many share a timestamp. A page is one range scan of the
//! `(room_id, seq)` index.

use super::guards::{guarded_write, is_admin, is_member, room_is_live};
use super::memberships::RoomUserRepository;
use super::{now_sql, Guarded};
use crate::access::{message_delete_refusal, require_member, send_refusal, ReaderAccess, Refusal};
use crate::auth::Caller;
use crate::db::{Database, DbError, FromRow, Row};
use crate::ids::{MessageId, RoomId, UserId};
use crate::messages::{Attachment, Message, NewMessage, PageStart};

/// Message columns. A deleted message keeps its content in the store for audit; its `FromRow`
/// decodes the tombstone and never serves them.
macro_rules! message_columns {
    () => {
        "m.seq, m.id, m.room_id, m.author_id, m.author_name, m.kind, m.content, m.attachment_url, \
         m.attachment_name, m.attachment_mime_type, m.attachment_size, m.created_at, m.deleted_at"
    };
}

/// A reader's page in one flat statement: the reader's standing in the live room `?1` (`?2` the
/// reader) and, for a member only, up to `?4` messages past the bound `?3` in the order `$order`.
/// One row per message, or one row with only the standing; no row: no such live room. Rooms,
/// memberships and invitations are one-row look-ups by primary key, so the messages come
/// straight off the `(room_id, seq)` index in order and the `LIMIT` stops the scan. Kept this
/// simple on purpose: Spin prepares every statement anew (and under WASIp2 opens a fresh
/// connection per request), so parsing and planning are most of what a request costs the store.
macro_rules! reader_page {
    ($range:literal, $order:literal) => {
        concat!(
            "SELECT r.is_private, me.role AS caller_role, me.last_read_seq, \
               inv.user_id IS NOT NULL AS caller_invited, ",
            message_columns!(),
            " FROM rooms r \
             LEFT JOIN memberships me ON me.room_id = r.id AND me.user_id = ?2 \
             LEFT JOIN invitations inv ON inv.room_id = r.id AND inv.user_id = ?2 \
             LEFT JOIN messages m ON me.user_id IS NOT NULL AND m.room_id = r.id AND ",
            $range,
            " WHERE r.id = ?1 AND r.deleted_at IS NULL ORDER BY m.seq ",
            $order,
            " LIMIT ?4"
        )
    };
}

const OLDER_PAGE: &str = reader_page!("m.seq < ?3", "DESC");

const NEWER_PAGE: &str = reader_page!("m.seq > ?3", "ASC");

const FIND_MESSAGE: &str =
    concat!("SELECT ", message_columns!(), " FROM messages m WHERE m.room_id = ?1 AND m.id = ?2");

/// Keys are kept 24 hours (the same window as the purge in migration 0002's trigger).
macro_rules! key_expiry {
    () => {
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-24 hours')"
    };
}

/// Sends only while the author is a member of the live room, and, with an Idempotency-Key
/// (`?11`, digest `?12`), only when no live claim of that key exists: the guards are in the
/// statement, and the trigger `messages_claim_idempotency_key` claims the key in it too.
const INSERT_MESSAGE: &str = concat!(
    "INSERT INTO messages (id, room_id, author_id, author_name, kind, content, attachment_url, attachment_name, \
       attachment_mime_type, attachment_size, created_at, idempotency_key, request_hash) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ",
    now_sql!(),
    ", ?11, ?12 WHERE ",
    room_is_live!("?2"),
    " AND ",
    is_member!("?2", "?3"),
    " AND (?11 IS NULL OR NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = ?3 AND k.room_id = ?2 \
       AND k.idempotency_key = ?11 AND k.created_at >= ",
    key_expiry!(),
    ")) RETURNING seq, created_at"
);

/// The live claim of a key (`?1` sender, `?2` room, `?3` key), with the message it created, for
/// a sender who is still a member of the live room: only members replay a key.
const FIND_KEYED_MESSAGE: &str = concat!(
    "SELECT k.request_hash, ",
    message_columns!(),
    " FROM idempotency_keys k JOIN messages m ON m.id = k.message_id \
     WHERE k.user_id = ?1 AND k.room_id = ?2 AND k.idempotency_key = ?3 AND k.created_at >= ",
    key_expiry!(),
    " AND ",
    room_is_live!("?2"),
    " AND ",
    is_member!("?2", "?1")
);

/// `?1` room, `?2` message, `?3` caller: a member of the live room (members see it) who is the
/// message's author or an admin; deleting again keeps the first deletion.
const SOFT_DELETE: &str = concat!(
    "UPDATE messages SET deleted_at = coalesce(deleted_at, ",
    now_sql!(),
    "), deleted_by = coalesce(deleted_by, ?3) WHERE room_id = ?1 AND id = ?2 AND ",
    room_is_live!("?1"),
    " AND ",
    is_member!("?1", "?3"),
    " AND (author_id = ?3 OR ",
    is_admin!("?1", "?3"),
    ") RETURNING id"
);

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
}

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Created(Message),
    /// A retry with the same `Idempotency-Key` and body: the original message.
    Replayed(Message),
}

/// Owns all message SQL.
pub struct MessageRepository<'a> {
    db: &'a dyn Database,
}

impl<'a> MessageRepository<'a> {
    pub fn new(db: &'a dyn Database) -> Self {
        MessageRepository { db }
    }

    /// A member reads a page of `room`'s history (404, 403 `NOT_MEMBER` otherwise): standing
    /// and page are one statement, a single indexed range scan of `limit + 1` rows. A page that
    /// reaches past the reader's marker moves it to the page's newest message; polls of history
    /// already read write nothing.
    pub fn read_page(&self, room: RoomId, reader: UserId, start: PageStart, limit: u32) -> Guarded<MessagePage> {
        let (sql, bound, newest_first) = match start {
            PageStart::Newest => (OLDER_PAGE, i64::MAX, true),
            PageStart::Before(seq) => (OLDER_PAGE, seq, true),
            PageStart::After(seq) => (NEWER_PAGE, seq, false),
        };
        let rows = self.db.execute(
            sql,
            &[room.to_string().into(), reader.to_string().into(), bound.into(), (i64::from(limit) + 1).into()],
        )?;
        let access = match require_member(rows.decode_first::<ReaderAccess>()?) {
            Ok(access) => access,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let mut messages: Vec<Message> = rows.decode_joined("seq")?;
        let has_more = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        // Older pages come newest first (to keep the `limit` nearest the bound); then oldest first.
        if newest_first {
            messages.reverse();
        }
        // An `after` page starts past a message it was given the cursor of, so something older
        // exists whenever it has messages; older pages have more older ones exactly when the
        // `limit + 1`th row came back.
        let has_older = if newest_first { has_more } else { !messages.is_empty() };
        if let Some(newest) = messages.last().filter(|m| access.last_read_seq.is_none_or(|read| m.seq > read)) {
            self.mark_as_read(room, reader, newest.seq)?;
        }
        Ok(Ok(MessagePage { messages, has_more, has_older }))
    }

    pub fn find(&self, room: RoomId, id: MessageId) -> Result<Option<Message>, DbError> {
        let rows = self.db.execute(FIND_MESSAGE, &[room.to_string().into(), id.to_string().into()])?;
        rows.decode_first()
    }

    /// Sends `message` as `author`, a member of the live room (404, 403 `NOT_MEMBER` otherwise).
    /// With an idempotency key, a retry returns the original message and a different body under
    /// the same key is 409 `IDEMPOTENCY_CONFLICT`. Either way the send is one guarded INSERT
    /// (the key is claimed by its trigger), so concurrent retries create one message; when it
    /// inserts nothing, the original of the key is read (members only), and when there is none
    /// the refusal is explained inside one transaction (`guarded_write`).
    pub fn create(
        &self,
        room: RoomId,
        author: &Caller,
        message: &NewMessage,
        idempotency_key: Option<&str>,
    ) -> Guarded<SendOutcome> {
        let explain = |db: &dyn Database| Ok(send_refusal(RoomUserRepository::new(db).access(room, author.user_id)?));
        let Some(key) = idempotency_key else {
            let insert = |db: &dyn Database| MessageRepository::new(db).insert(room, author, message, None);
            return Ok(guarded_write(self.db, insert, explain)?.map(SendOutcome::Created));
        };
        let digest = message.digest();
        let params = [author.user_id.to_string().into(), room.to_string().into(), key.into()];
        // Sent, or the original of a held key: a replay or a conflict. Neither: not a member (the
        // refusal is explained in the transaction `guarded_write` runs this again in).
        let send_or_replay = |db: &dyn Database| {
            if let Some(created) = MessageRepository::new(db).insert(room, author, message, Some((key, &digest)))? {
                return Ok(Some(Ok(SendOutcome::Created(created))));
            }
            let rows = db.execute(FIND_KEYED_MESSAGE, &params)?;
            let Some(original) = rows.first() else {
                return Ok(None);
            };
            if original.get::<&str>("request_hash")? != digest {
                return Ok(Some(Err(Refusal::IdempotencyConflict)));
            }
            Ok(Some(Ok(SendOutcome::Replayed(Message::from_row(original)?))))
        };
        Ok(guarded_write(self.db, send_or_replay, explain)?.and_then(|outcome| outcome))
    }

    /// The guarded insert: `None` when the author is not a member of the live room.
    fn insert(
        &self,
        room: RoomId,
        author: &Caller,
        message: &NewMessage,
        key: Option<(&str, &str)>,
    ) -> Result<Option<Message>, DbError> {
        let id = MessageId::new_random();
        let attachment = message.attachment();
        let rows = self.db.execute(
            INSERT_MESSAGE,
            &[
                id.to_string().into(),
                room.to_string().into(),
                author.user_id.to_string().into(),
                author.display_name.clone().into(),
                message.kind().as_str().into(),
                message.content().into(),
                attachment.map(|a| a.url.clone()).into(),
                attachment.map(|a| a.name.clone()).into(),
                attachment.map(|a| a.mime_type.clone()).into(),
                attachment.map(|a| a.size).into(),
                key.map(|(key, _)| key).into(),
                key.map(|(_, digest)| digest).into(),
            ],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(Message {
            id,
            room_id: room,
            author_id: author.user_id,
            author_name: author.display_name.clone(),
            kind: message.kind(),
            content: message.content().map(str::to_owned),
            attachment: message.attachment().cloned(),
            created_at: row.get("created_at")?,
            deleted: false,
            deleted_at: None,
            seq: row.get("seq")?,
        }))
    }

    /// Soft-deletes the message if `caller` is a member of the live room and the message's
    /// author or an admin; otherwise the refusal (404 for the room or the message, 403). The
    /// content stays in the store for audit and is never served again.
    pub fn soft_delete(&self, room: RoomId, id: MessageId, caller: UserId) -> Guarded<()> {
        let params = [room.to_string().into(), id.to_string().into(), caller.to_string().into()];
        let delete = |db: &dyn Database| Ok(db.execute(SOFT_DELETE, &params)?.first().map(|_| ()));
        let explain = |db: &dyn Database| {
            let access = RoomUserRepository::new(db).access(room, caller)?;
            let author = MessageRepository::new(db).find(room, id)?.map(|m| m.author_id);
            Ok(message_delete_refusal(access, author, caller))
        };
        guarded_write(self.db, delete, explain)
    }

    /// Moves `user`'s read marker in `room` forward to `seq` (never backwards).
    fn mark_as_read(&self, room: RoomId, user: UserId, seq: i64) -> Result<(), DbError> {
        self.db.execute(MARK_AS_READ, &[room.to_string().into(), user.to_string().into(), seq.into()])?;
        Ok(())
    }
}

/// Reads [`message_columns!`]; a deleted message decodes to its tombstone.
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

impl FromRow for Message {
    fn from_row(row: Row<'_>) -> Result<Self, DbError> {
        let deleted_at: Option<String> = row.get("deleted_at")?;
        let attachment = match row.get::<Option<String>>("attachment_url")? {
            Some(url) if deleted_at.is_none() => Some(Attachment {
                url,
                name: row.get("attachment_name")?,
                mime_type: row.get("attachment_mime_type")?,
                size: row.get("attachment_size")?,
            }),
            _ => None,
        };
        Ok(Message {
            seq: row.get("seq")?,
            id: row.get("id")?,
            room_id: row.get("room_id")?,
            author_id: row.get("author_id")?,
            author_name: row.get("author_name")?,
            kind: row.get("kind")?,
            content: if deleted_at.is_none() { row.get("content")? } else { None },
            attachment,
            created_at: row.get("created_at")?,
            deleted: deleted_at.is_some(),
            deleted_at,
        })
    }
}
