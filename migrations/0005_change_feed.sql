-- Version 5: the change feed (contract "Real time"). Every message carries the position of its
-- latest change in its room: sent, edited, deleted, or its reactions changed. The store lets one
-- writer in at a time, so a position taken inside the writing statement is in commit order, and a
-- follower that reads positions after its token misses nothing committed after it.

ALTER TABLE messages ADD COLUMN change_seq INTEGER;

-- Messages sent before version 5 keep their history order as their change order.
UPDATE messages SET change_seq = seq;

-- A room's changes in order; unique, so two changes can never share a position.
CREATE UNIQUE INDEX messages_room_changes ON messages (room_id, change_seq);

CREATE TRIGGER messages_change_on_send AFTER INSERT ON messages
BEGIN
    UPDATE messages SET change_seq = (
        SELECT coalesce(max(change_seq), 0) + 1 FROM messages WHERE room_id = NEW.room_id)
    WHERE seq = NEW.seq;
END;

-- Edits (content, edited_at), deletion (deleted_at) and reactions (the summary their triggers
-- keep); not reply_count, which the contract does not list as a change of the message.
CREATE TRIGGER messages_change_on_update AFTER UPDATE OF content, edited_at, deleted_at, reactions ON messages
WHEN NEW.content IS NOT OLD.content OR NEW.edited_at IS NOT OLD.edited_at
  OR NEW.deleted_at IS NOT OLD.deleted_at OR NEW.reactions IS NOT OLD.reactions
BEGIN
    UPDATE messages SET change_seq = (
        SELECT max(change_seq) + 1 FROM messages WHERE room_id = NEW.room_id)
    WHERE seq = NEW.seq;
END;
