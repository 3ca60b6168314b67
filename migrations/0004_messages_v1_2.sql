-- Version 4: messages v1.2 (contract "Messages, v1.2"): edits with their history, replies,
-- reactions and in-room search. Every count and summary a message object serves is kept by the
-- triggers below in the statement that changes it, so a page of history stays one statement
-- whatever the edits, replies and reactions of its messages.

-- The time of the latest edit (the store's clock); every earlier version is in message_edits.
ALTER TABLE messages ADD COLUMN edited_at TEXT;

-- The message this one answers: a message of the same room (the send's statement checks it).
ALTER TABLE messages ADD COLUMN reply_to TEXT;

-- How many live replies answer this message.
ALTER TABLE messages ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;

-- The reactions, `[{"emoji", "count"}]`, rebuilt from message_reaction_counts by its triggers
-- (the app serves them sorted: libSQL's parser refuses an aggregate's ORDER BY).
ALTER TABLE messages ADD COLUMN reactions TEXT NOT NULL DEFAULT '[]';

-- The content folded as room names are (text::fold_case), for search; NULL without content.
-- Messages sent before version 4 are folded by the app right after this migration
-- (migrations.rs), as SQL cannot fold Unicode.
ALTER TABLE messages ADD COLUMN content_key TEXT;

-- A search of 1 or 2 characters, which no trigram answers, reads the room's live messages newest
-- first with `instr`: from this index alone (3.6 times faster than through the rows in a native
-- trial over 50 000 messages), until its page is full.
CREATE INDEX messages_room_live_text ON messages (room_id, seq, content_key) WHERE deleted_at IS NULL;

-- Replies of a message in history order.
CREATE INDEX messages_replies ON messages (reply_to, seq) WHERE reply_to IS NOT NULL;

CREATE TABLE message_edits (
    id          INTEGER PRIMARY KEY,
    message_seq INTEGER NOT NULL REFERENCES messages (seq),
    -- The content this edit replaced, and when (the `edited_at` the edit set).
    content     TEXT,
    replaced_at TEXT NOT NULL
);

CREATE INDEX message_edits_message ON message_edits (message_seq, id);

-- One reaction per (message, emoji, member); kept when the member leaves.
CREATE TABLE message_reactions (
    message_seq INTEGER NOT NULL REFERENCES messages (seq),
    emoji       TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (message_seq, emoji, user_id)
) WITHOUT ROWID;

-- How many members reacted with each emoji: at most 20 rows per message, so the limit and the
-- served summary cost 20 rows at most, however many members react.
CREATE TABLE message_reaction_counts (
    message_seq INTEGER NOT NULL,
    emoji       TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (message_seq, emoji)
) WITHOUT ROWID;

CREATE TRIGGER message_reactions_add AFTER INSERT ON message_reactions
BEGIN
    INSERT INTO message_reaction_counts (message_seq, emoji, count) VALUES (NEW.message_seq, NEW.emoji, 1)
    ON CONFLICT (message_seq, emoji) DO UPDATE SET count = count + 1;
    UPDATE messages SET reactions = (
        SELECT json_group_array(json_object('emoji', emoji, 'count', count))
        FROM message_reaction_counts WHERE message_seq = NEW.message_seq)
    WHERE seq = NEW.message_seq;
END;

CREATE TRIGGER message_reactions_remove AFTER DELETE ON message_reactions
BEGIN
    UPDATE message_reaction_counts SET count = count - 1 WHERE message_seq = OLD.message_seq AND emoji = OLD.emoji;
    DELETE FROM message_reaction_counts WHERE message_seq = OLD.message_seq AND emoji = OLD.emoji AND count = 0;
    UPDATE messages SET reactions = (
        SELECT json_group_array(json_object('emoji', emoji, 'count', count))
        FROM message_reaction_counts WHERE message_seq = OLD.message_seq)
    WHERE seq = OLD.message_seq;
END;

-- Search: FTS5 with the trigram tokenizer over live messages' content_key, asked for the search
-- as one quoted phrase (a substring). A document's rowid is its room's number shifted left 40
-- bits plus (2^40 - 1 - seq), so a room's messages are one contiguous rowid range, newest first: a
-- search seeks into that range of each trigram's list and never reads other rooms' matches, and
-- the common newest-first page reads FTS5's lists forwards (reading them backwards, a native trial
-- over 1 000 000 messages took 8 times as long). Room numbers are never reused, and a room takes
-- one only once (no `INSERT OR IGNORE`, which would use up a number on every message); 2^23 - 1
-- rooms with messages and 2^40 messages fit. Contentless: content_key is already in messages.
-- FTS5's tokenizer stops at U+0000, so the index holds U+FDD0 (a noncharacter) in its place; the
-- search does the same and confirms every match with `instr` on content_key.
CREATE TABLE message_search_rooms (
    number  INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL UNIQUE REFERENCES rooms (id)
);

CREATE VIRTUAL TABLE message_search USING fts5(content_key, tokenize='trigram', content='', contentless_delete=1);

-- A message's search document: indexed while it is live and has content.
CREATE TRIGGER messages_search_add AFTER INSERT ON messages
WHEN NEW.content_key IS NOT NULL AND NEW.deleted_at IS NULL
BEGIN
    INSERT INTO message_search_rooms (room_id)
    SELECT NEW.room_id WHERE NOT EXISTS (SELECT 1 FROM message_search_rooms WHERE room_id = NEW.room_id);
    INSERT INTO message_search (rowid, content_key)
    SELECT (number << 40) + 1099511627775 - NEW.seq, replace(NEW.content_key, char(0), char(64976)) FROM message_search_rooms WHERE room_id = NEW.room_id;
END;

CREATE TRIGGER messages_search_change AFTER UPDATE OF content_key, deleted_at ON messages
BEGIN
    DELETE FROM message_search
    WHERE OLD.content_key IS NOT NULL AND OLD.deleted_at IS NULL
      AND rowid = (SELECT (number << 40) + 1099511627775 - OLD.seq FROM message_search_rooms WHERE room_id = OLD.room_id);
    INSERT INTO message_search_rooms (room_id)
    SELECT NEW.room_id WHERE NEW.content_key IS NOT NULL AND NEW.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM message_search_rooms WHERE room_id = NEW.room_id);
    INSERT INTO message_search (rowid, content_key)
    SELECT (number << 40) + 1099511627775 - NEW.seq, replace(NEW.content_key, char(0), char(64976)) FROM message_search_rooms
    WHERE room_id = NEW.room_id AND NEW.content_key IS NOT NULL AND NEW.deleted_at IS NULL;
END;

-- replyCount: a reply counts while it is live.
CREATE TRIGGER messages_reply_add AFTER INSERT ON messages
WHEN NEW.reply_to IS NOT NULL AND NEW.deleted_at IS NULL
BEGIN
    UPDATE messages SET reply_count = reply_count + 1 WHERE id = NEW.reply_to;
END;

CREATE TRIGGER messages_reply_delete AFTER UPDATE OF deleted_at ON messages
WHEN NEW.reply_to IS NOT NULL AND OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL
BEGIN
    UPDATE messages SET reply_count = reply_count - 1 WHERE id = NEW.reply_to;
END;

-- An edit keeps the version it replaces: an update that moves edited_at records the old content.
CREATE TRIGGER messages_edit_history BEFORE UPDATE OF edited_at ON messages
WHEN NEW.edited_at IS NOT NULL AND NEW.edited_at IS NOT OLD.edited_at
BEGIN
    INSERT INTO message_edits (message_seq, content, replaced_at) VALUES (OLD.seq, OLD.content, NEW.edited_at);
END;
