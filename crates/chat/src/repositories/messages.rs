//! `MessageRepository`: one message: sending (with idempotency and replies), reading and soft
//! delete. Pages of history are `HistoryRepository`'s.

use super::guards::{guarded_write, is_admin, is_member, is_message_of, room_is_live};
use super::memberships::RoomUserRepository;
use super::{now_sql, Guarded};
use crate::access::{message_delete_refusal, send_refusal, Refusal};
use crate::auth::Caller;
use crate::db::{Database, DbError, FromRow, Row};
use crate::ids::{MessageId, RoomId, UserId};
use crate::messages::{Attachment, Message, NewMessage, Reaction};

/// Message columns. A deleted message keeps its content in the store for audit; its `FromRow`
/// decodes the tombstone and never serves them.
macro_rules! message_columns {
    () => {
        "m.seq, m.id, m.room_id, m.author_id, m.author_name, m.kind, m.content, m.attachment_url, \
         m.attachment_name, m.attachment_mime_type, m.attachment_size, m.created_at, m.deleted_at, \
         m.edited_at, m.reply_to, m.reply_count, m.reactions"
    };
}
pub(crate) use message_columns;

const FIND_MESSAGE: &str =
    concat!("SELECT ", message_columns!(), " FROM messages m WHERE m.room_id = ?1 AND m.id = ?2");

/// Keys are kept 24 hours (the same window as the purge in migration 0002's trigger).
macro_rules! key_expiry {
    () => {
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-24 hours')"
    };
}

/// Sends only while the author is a member of the live room, answering (`?13`) a message of the
/// room, and, with an Idempotency-Key (`?11`, digest `?12`), only when no live claim of that key
/// exists: the guards are in the statement, and the trigger `messages_claim_idempotency_key`
/// claims the key in it too (migration 0004's triggers index it and count the reply).
const INSERT_MESSAGE: &str = concat!(
    "INSERT INTO messages (id, room_id, author_id, author_name, kind, content, attachment_url, attachment_name, \
       attachment_mime_type, attachment_size, created_at, idempotency_key, request_hash, reply_to, content_key) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ",
    now_sql!(),
    ", ?11, ?12, ?13, ?14 WHERE ",
    room_is_live!("?2"),
    " AND ",
    is_member!("?2", "?3"),
    " AND (?13 IS NULL OR ",
    is_message_of!("?2", "?13"),
    ") AND (?11 IS NULL OR NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.user_id = ?3 AND k.room_id = ?2 \
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
        let explain = |db: &dyn Database| {
            let refusal = send_refusal(RoomUserRepository::new(db).access(room, author.user_id)?);
            match message.reply_to() {
                Some(target) if refusal.is_none() && MessageRepository::new(db).find(room, target)?.is_none() => {
                    Ok(Some(Refusal::UnknownReplyTarget))
                }
                _ => Ok(refusal),
            }
        };
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
                message.reply_to().map(|id| id.to_string()).into(),
                message.content_key().into(),
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
            edited_at: None,
            reply_to: message.reply_to(),
            reply_count: 0,
            reactions: Vec::new(),
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
            edited_at: row.get("edited_at")?,
            reply_to: row.get("reply_to")?,
            reply_count: row.get("reply_count")?,
            reactions: if deleted_at.is_none() { reactions(row.get("reactions")?)? } else { Vec::new() },
            deleted_at,
        })
    }
}

/// The `reactions` column (the JSON its triggers keep), sorted as the contract serves them: by
/// count desc, then emoji by code point (the byte order of UTF-8).
fn reactions(json: &str) -> Result<Vec<Reaction>, DbError> {
    let mut reactions: Vec<Reaction> =
        serde_json::from_str(json).map_err(|e| DbError::Decode(format!("reactions: {e}")))?;
    reactions.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.emoji.cmp(&b.emoji)));
    Ok(reactions)
}
