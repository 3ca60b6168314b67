//! `MessageRepository`: history pages, sending (with idempotency), soft delete and read markers.
//!
//! History is ordered by `seq`, which the store assigns in commit order, so cursors never skip or
//! repeat a message however many share a timestamp. A page is one range scan of the
//! `(room_id, seq)` index.

use super::guards::{guarded_write, is_admin, is_member, room_is_live, room_is_visible_to};
use super::memberships::RoomUserRepository;
use super::{now_sql, Guarded};
use crate::access::{message_delete_refusal, require_member, send_refusal, Refusal};
use crate::auth::Caller;
use crate::db::{transaction, Database, DbError, FromRow, Row};
use crate::ids::{MessageId, RoomId, UserId};
use crate::messages::{Attachment, Message, NewMessage, PageStart};

/// Message columns; content and attachment are never read back once the message is deleted.
macro_rules! message_columns {
    () => {
        "m.seq, m.id, m.room_id, m.author_id, m.author_name, m.kind, \
         CASE WHEN m.deleted_at IS NULL THEN m.content END AS content, \
         CASE WHEN m.deleted_at IS NULL THEN m.attachment_url END AS attachment_url, \
         CASE WHEN m.deleted_at IS NULL THEN m.attachment_name END AS attachment_name, \
         CASE WHEN m.deleted_at IS NULL THEN m.attachment_mime_type END AS attachment_mime_type, \
         CASE WHEN m.deleted_at IS NULL THEN m.attachment_size END AS attachment_size, \
         m.created_at, m.deleted_at"
    };
}

/// `?1` room, `?2` exclusive upper bound, `?3` rows. Also the room's oldest `seq`, to tell
/// whether anything older than the page exists.
const OLDER_PAGE: &str = concat!(
    "SELECT ",
    message_columns!(),
    ", (SELECT min(f.seq) FROM messages f WHERE f.room_id = ?1) AS oldest_seq \
     FROM messages m WHERE m.room_id = ?1 AND m.seq < ?2 ORDER BY m.seq DESC LIMIT ?3"
);

/// `?1` room, `?2` exclusive lower bound, `?3` rows.
const NEWER_PAGE: &str = concat!(
    "SELECT ",
    message_columns!(),
    ", (SELECT min(f.seq) FROM messages f WHERE f.room_id = ?1) AS oldest_seq \
     FROM messages m WHERE m.room_id = ?1 AND m.seq > ?2 ORDER BY m.seq ASC LIMIT ?3"
);

const FIND_MESSAGE: &str =
    concat!("SELECT ", message_columns!(), " FROM messages m WHERE m.room_id = ?1 AND m.id = ?2");

/// Sends only while the author is a member of the live room: the guard is in the statement.
const INSERT_MESSAGE: &str = concat!(
    "INSERT INTO messages (id, room_id, author_id, author_name, kind, content, attachment_url, attachment_name, \
       attachment_mime_type, attachment_size, created_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ",
    now_sql!(),
    " WHERE ",
    room_is_live!("?2"),
    " AND ",
    is_member!("?2", "?3"),
    " RETURNING seq, created_at"
);

/// Keys are kept 24 hours; each sender's older keys go when they next send with a key.
const PURGE_EXPIRED_KEYS: &str = "DELETE FROM idempotency_keys WHERE user_id = ?1 \
     AND created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-24 hours')";

const FIND_IDEMPOTENCY_KEY: &str = "SELECT request_hash, message_id FROM idempotency_keys \
     WHERE user_id = ?1 AND room_id = ?2 AND idempotency_key = ?3";

const INSERT_IDEMPOTENCY_KEY: &str = concat!(
    "INSERT INTO idempotency_keys (user_id, room_id, idempotency_key, request_hash, message_id, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ",
    now_sql!(),
    ")"
);

/// `?1` room, `?2` message, `?3` caller. The author or an admin of the live room, which the
/// caller must be able to see (an author who left a private room gets its 404); deleting again
/// keeps the first deletion.
const SOFT_DELETE: &str = concat!(
    "UPDATE messages SET deleted_at = coalesce(deleted_at, ",
    now_sql!(),
    "), deleted_by = coalesce(deleted_by, ?3) WHERE room_id = ?1 AND id = ?2 AND ",
    room_is_visible_to!("?1", "?3"),
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

    /// One page of `room`'s history: a single indexed range scan of `limit + 1` rows.
    fn find_page(&self, room: RoomId, start: PageStart, limit: u32) -> Result<MessagePage, DbError> {
        let (sql, bound, newest_first) = match start {
            PageStart::Newest => (OLDER_PAGE, i64::MAX, true),
            PageStart::Before(seq) => (OLDER_PAGE, seq, true),
            PageStart::After(seq) => (NEWER_PAGE, seq, false),
        };
        let rows = self.db.execute(sql, &[room.to_string().into(), bound.into(), (i64::from(limit) + 1).into()])?;
        let oldest_seq: Option<i64> = rows.first().map(|row| row.get("oldest_seq")).transpose()?.flatten();
        let mut messages: Vec<Message> = rows.decode()?;
        let has_more = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        if newest_first {
            messages.reverse();
        }
        let has_older = match (messages.first(), oldest_seq) {
            (Some(first), Some(oldest)) => first.seq > oldest,
            _ => false,
        };
        Ok(MessagePage { messages, has_more, has_older })
    }

    /// A member reads a page of `room`'s history (404, 403 `NOT_MEMBER` otherwise). A page that
    /// reaches past the reader's marker moves it to the page's newest message; polls of history
    /// already read write nothing.
    pub fn read_page(&self, room: RoomId, reader: UserId, start: PageStart, limit: u32) -> Guarded<MessagePage> {
        let access = match require_member(RoomUserRepository::new(self.db).access(room, reader)?) {
            Ok(access) => access,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let page = self.find_page(room, start, limit)?;
        if let Some(newest) = page.messages.last().filter(|m| access.last_read_seq.is_none_or(|read| m.seq > read)) {
            self.mark_as_read(room, reader, newest.seq)?;
        }
        Ok(Ok(page))
    }

    pub fn find(&self, room: RoomId, id: MessageId) -> Result<Option<Message>, DbError> {
        let rows = self.db.execute(FIND_MESSAGE, &[room.to_string().into(), id.to_string().into()])?;
        rows.decode_first()
    }

    /// Sends `message` as `author`, a member of the live room (404, 403 `NOT_MEMBER` otherwise).
    /// With an idempotency key, a retry returns the original message and a different body under
    /// the same key is 409 `IDEMPOTENCY_CONFLICT`; membership, the key and the write share one
    /// transaction, so concurrent retries create one message and only members replay a key.
    pub fn create(
        &self,
        room: RoomId,
        author: &Caller,
        message: &NewMessage,
        idempotency_key: Option<&str>,
    ) -> Guarded<SendOutcome> {
        let Some(key) = idempotency_key else {
            let insert = |db: &dyn Database| MessageRepository::new(db).insert(room, author, message);
            let explain =
                |db: &dyn Database| Ok(send_refusal(RoomUserRepository::new(db).access(room, author.user_id)?));
            return Ok(guarded_write(self.db, insert, explain)?.map(SendOutcome::Created));
        };
        let digest = message.digest();
        let key_params = [author.user_id.to_string().into(), room.to_string().into(), key.into()];
        transaction(self.db, |tx| {
            if let Err(refusal) = require_member(RoomUserRepository::new(tx).access(room, author.user_id)?) {
                return Ok(Err(refusal));
            }
            tx.execute(PURGE_EXPIRED_KEYS, &key_params[..1])?;
            let repository = MessageRepository::new(tx);
            if let Some(row) = tx.execute(FIND_IDEMPOTENCY_KEY, &key_params)?.first() {
                if row.get::<&str>("request_hash")? != digest {
                    return Ok(Err(Refusal::IdempotencyConflict));
                }
                let original: MessageId = row.get("message_id")?;
                return match repository.find(room, original)? {
                    Some(found) => Ok(Ok(SendOutcome::Replayed(found))),
                    None => Err(DbError::Other(format!("idempotency key names missing message {original}"))),
                };
            }
            let Some(created) = repository.insert(room, author, message)? else {
                return Err(DbError::Other("a member's insert matched no row inside its transaction".into()));
            };
            let mut params = key_params.to_vec();
            params.push(digest.clone().into());
            params.push(created.id.to_string().into());
            tx.execute(INSERT_IDEMPOTENCY_KEY, &params)?;
            Ok(Ok(SendOutcome::Created(created)))
        })
    }

    /// The guarded insert: `None` when the author is not a member of the live room.
    fn insert(&self, room: RoomId, author: &Caller, message: &NewMessage) -> Result<Option<Message>, DbError> {
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

    /// Soft-deletes the message if `caller` sees the live room and is the message's author or
    /// an admin; otherwise the refusal (404 for the room or the message, 403). The content
    /// stays in the store for audit and is never served again.
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
