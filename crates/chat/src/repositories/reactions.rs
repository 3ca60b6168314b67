//! `ReactionRepository`: a member's reactions on a message. Adding is one guarded INSERT that
//! holds the limit of 20 distinct emoji inside the statement, so concurrent reactions (through
//! any replica) never pass it; the message's `reactions` summary is kept by the triggers of
//! migration 0004 in the same statement.

use super::guards::{is_member, room_is_live};
use super::memberships::RoomUserRepository;
use super::messages::MessageRepository;
use super::{now_sql, Guarded};
use crate::access::{reaction_refusal, Refusal};
use crate::db::{transaction, Database, DbError};
use crate::ids::{MessageId, RoomId, UserId};
use crate::messages::Message;
use crate::reactions::{Emoji, MAX_DISTINCT_EMOJI};

/// `?1` room, `?2` message, `?3` emoji, `?4` the member, `?5` the limit: a reaction on a live
/// message of the live room, by a member, when the message holds fewer than `?5` other emoji.
/// Nothing when the member already reacted so.
const ADD_REACTION: &str = concat!(
    "INSERT INTO message_reactions (message_seq, emoji, user_id, created_at) SELECT m.seq, ?3, ?4, ",
    now_sql!(),
    " FROM messages m WHERE m.room_id = ?1 AND m.id = ?2 AND m.deleted_at IS NULL AND ",
    room_is_live!("?1"),
    " AND ",
    is_member!("?1", "?4"),
    " AND (SELECT count(*) FROM message_reaction_counts c WHERE c.message_seq = m.seq AND c.emoji <> ?3) < ?5 \
     ON CONFLICT DO NOTHING RETURNING message_seq"
);

/// Whether member `?4` holds reaction `?3` on message `?2` of room `?1`.
const HAS_REACTED: &str = "SELECT 1 AS reacted FROM message_reactions r JOIN messages m ON m.seq = r.message_seq \
     WHERE m.room_id = ?1 AND m.id = ?2 AND r.emoji = ?3 AND r.user_id = ?4";

/// Removes member `?4`'s reaction `?3` from message `?2` of the live room `?1`, if any.
const REMOVE_REACTION: &str = concat!(
    "DELETE FROM message_reactions WHERE emoji = ?3 AND user_id = ?4 \
       AND message_seq = (SELECT seq FROM messages WHERE room_id = ?1 AND id = ?2) AND ",
    room_is_live!("?1"),
    " AND ",
    is_member!("?1", "?4"),
    " RETURNING message_seq"
);

/// Owns the SQL of reactions.
pub struct ReactionRepository<'a> {
    db: &'a dyn Database,
}

impl<'a> ReactionRepository<'a> {
    pub fn new(db: &'a dyn Database) -> Self {
        ReactionRepository { db }
    }

    /// `member` reacts to message `id` with `emoji`: the message as it is then (the same when the
    /// member had already reacted so). Refusals per [`reaction_refusal`], then 409
    /// `TOO_MANY_REACTIONS` for a 21st distinct emoji.
    pub fn add(&self, room: RoomId, id: MessageId, member: UserId, emoji: &Emoji) -> Guarded<Message> {
        let params = [
            room.to_string().into(),
            id.to_string().into(),
            emoji.as_str().into(),
            member.to_string().into(),
            MAX_DISTINCT_EMOJI.into(),
        ];
        let messages = MessageRepository::new(self.db);
        if self.db.execute(ADD_REACTION, &params)?.first().is_some() {
            return Ok(messages.find(room, id)?.ok_or(Refusal::NotFound));
        }
        // Refused, or already there: explained inside one transaction with the state it saw.
        transaction(self.db, |tx| {
            let messages = MessageRepository::new(tx);
            if tx.execute(ADD_REACTION, &params)?.first().is_some() {
                return Ok(messages.find(room, id)?.ok_or(Refusal::NotFound));
            }
            let access = RoomUserRepository::new(tx).access(room, member)?;
            let message = messages.find(room, id)?;
            if let Some(refusal) = reaction_refusal(access, message.as_ref().map(Message::target), true) {
                return Ok(Err(refusal));
            }
            let already = tx.execute(HAS_REACTED, &params[..4])?.first().is_some();
            match message {
                Some(message) if already => Ok(Ok(message)),
                Some(_) => Ok(Err(Refusal::TooManyReactions)),
                None => Err(DbError::Other("a reaction was refused although the access rules allow it".into())),
            }
        })
    }

    /// `member` takes back reaction `emoji` from message `id`, if they had it. Refusals per
    /// [`reaction_refusal`]; a tombstone's reactions can be taken back.
    pub fn remove(&self, room: RoomId, id: MessageId, member: UserId, emoji: &Emoji) -> Guarded<()> {
        let params = [room.to_string().into(), id.to_string().into(), emoji.as_str().into(), member.to_string().into()];
        if self.db.execute(REMOVE_REACTION, &params)?.first().is_some() {
            return Ok(Ok(()));
        }
        // Nothing removed: no such reaction (fine), or a refusal.
        let access = RoomUserRepository::new(self.db).access(room, member)?;
        let message = MessageRepository::new(self.db).find(room, id)?;
        Ok(reaction_refusal(access, message.as_ref().map(Message::target), false).map_or(Ok(()), Err))
    }
}
