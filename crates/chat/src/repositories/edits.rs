//! `EditRepository`: editing a message (its author, while a member) and listing the versions an
//! edit replaced. The earlier version is recorded by the trigger `messages_edit_history`
//! (migration 0004) in the edit's own statement.

use super::guards::{is_member, room_is_live};
use super::memberships::RoomUserRepository;
use super::messages::MessageRepository;
use super::{now_sql, Guarded};
use crate::access::{edit_refusal, edits_reader_refusal, Refusal};
use crate::db::{transaction, Database, DbError};
use crate::edits::{EarlierVersion, Edit};
use crate::ids::{MessageId, RoomId, UserId};
use crate::messages::{Message, MessageKind};
use crate::pagination::PageRequest;

/// `?1` room, `?2` message, `?3` the author, a member of the live room; `?4` / `?5` the content
/// (and its folded form) for a text, `?6` / `?7` for an image or a file: applied to a live message
/// whose content it changes. A text's content is NULL when the edit is invalid for a text.
const EDIT_MESSAGE: &str = concat!(
    "UPDATE messages SET content = CASE kind WHEN 'text' THEN ?4 ELSE ?6 END, \
       content_key = CASE kind WHEN 'text' THEN ?5 ELSE ?7 END, edited_at = ",
    now_sql!(),
    " WHERE room_id = ?1 AND id = ?2 AND author_id = ?3 AND deleted_at IS NULL \
       AND (kind <> 'text' OR ?4 IS NOT NULL) AND content IS NOT (CASE kind WHEN 'text' THEN ?4 ELSE ?6 END) AND ",
    room_is_live!("?1"),
    " AND ",
    is_member!("?1", "?3"),
    " RETURNING id"
);

/// The versions message `?1` (a seq) had before its edits, oldest first: `?2` rows from `?3`, and
/// how many there are in all.
const EARLIER_VERSIONS: &str = "SELECT t.total, e.content, e.replaced_at \
     FROM (SELECT count(*) AS total FROM message_edits WHERE message_seq = ?1) t \
     LEFT JOIN (SELECT id, content, replaced_at FROM message_edits WHERE message_seq = ?1 ORDER BY id LIMIT ?2 OFFSET ?3) e \
     ORDER BY e.id";

/// Owns the SQL of edits.
pub struct EditRepository<'a> {
    db: &'a dyn Database,
}

impl<'a> EditRepository<'a> {
    pub fn new(db: &'a dyn Database) -> Self {
        EditRepository { db }
    }

    /// `caller` edits message `id` of `room`, as its author and a member: the message as it is
    /// then. An edit that changes nothing records nothing. Refusals per [`edit_refusal`], and a
    /// text's empty content (400 on `content`) once the message is known to be a text.
    pub fn edit(&self, room: RoomId, id: MessageId, caller: UserId, edit: &Edit) -> Guarded<Message> {
        let text = edit.content_for(MessageKind::Text).ok().flatten();
        let caption = edit.content_for(MessageKind::Image).ok().flatten();
        let fold = |content: &Option<String>| content.as_deref().map(crate::text::fold_case);
        let params = [
            room.to_string().into(),
            id.to_string().into(),
            caller.to_string().into(),
            text.clone().into(),
            fold(&text).into(),
            caption.clone().into(),
            fold(&caption).into(),
        ];
        let write = |db: &dyn Database| Ok::<_, DbError>(db.execute(EDIT_MESSAGE, &params)?.first().map(|_| ()));
        let messages = MessageRepository::new(self.db);
        if write(self.db)?.is_some() {
            return Ok(messages.find(room, id)?.ok_or(Refusal::NotFound));
        }
        // Refused, or nothing to change: explained inside one transaction with the state it saw.
        transaction(self.db, |tx| {
            let messages = MessageRepository::new(tx);
            if write(tx)?.is_some() {
                return Ok(messages.find(room, id)?.ok_or(Refusal::NotFound));
            }
            let access = RoomUserRepository::new(tx).access(room, caller)?;
            let message = messages.find(room, id)?;
            if let Some(refusal) = edit_refusal(access, message.as_ref().map(Message::target), caller) {
                return Ok(Err(refusal));
            }
            match message {
                Some(message) if edit.content_for(message.kind).is_err() => Ok(Err(Refusal::EmptyTextContent)),
                // The content is already this: nothing to record.
                Some(message) => Ok(Ok(message)),
                None => Err(DbError::Other("an edit was refused although the access rules allow it".into())),
            }
        })
    }

    /// The versions message `id` had before its edits, oldest first, for its author or an admin
    /// (a tombstone's too), and how many there are.
    pub fn earlier_versions(
        &self,
        room: RoomId,
        id: MessageId,
        caller: UserId,
        page: PageRequest,
    ) -> Guarded<(Vec<EarlierVersion>, u64)> {
        let access = RoomUserRepository::new(self.db).access(room, caller)?;
        let message = MessageRepository::new(self.db).find(room, id)?;
        if let Some(refusal) = edits_reader_refusal(access, message.as_ref().map(Message::target), caller) {
            return Ok(Err(refusal));
        }
        let Some(message) = message else { return Ok(Err(Refusal::NotFound)) };
        let rows = self
            .db
            .execute(EARLIER_VERSIONS, &[message.seq.into(), i64::from(page.limit).into(), page.offset().into()])?;
        let total: i64 = rows.first().map(|row| row.get("total")).transpose()?.unwrap_or(0);
        let mut versions = Vec::new();
        for row in rows.iter() {
            if let Some(replaced_at) = row.get::<Option<String>>("replaced_at")? {
                versions.push(EarlierVersion { content: row.get("content")?, replaced_at });
            }
        }
        Ok(Ok((versions, u64::try_from(total).unwrap_or(0))))
    }
}
