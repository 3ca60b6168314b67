-- Version 2: counts kept by the statements that change them, and indexes for every filter.
--
-- Counters are kept by triggers, so a join, leave or room change keeps them exact in the same
-- statement (no extra round trip to libSQL, no window where a count and its rows disagree).
-- A trigger is one statement for `execute`; migrations.rs splits on the `;` after its END.

-- memberCount of a room, kept by the membership triggers below.
ALTER TABLE rooms ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;

UPDATE rooms SET member_count = (SELECT count(*) FROM memberships m WHERE m.room_id = rooms.id);

-- Joining also consumes the invitation, if any: a join is one statement.
CREATE TRIGGER memberships_join AFTER INSERT ON memberships
BEGIN
    UPDATE rooms SET member_count = member_count + 1 WHERE id = NEW.room_id;
    DELETE FROM invitations WHERE room_id = NEW.room_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER memberships_leave AFTER DELETE ON memberships
BEGIN
    UPDATE rooms SET member_count = member_count - 1 WHERE id = OLD.room_id;
END;

-- How many live public rooms exist: the bulk of a room listing's `total`, which would otherwise
-- count every live room on every page. One row.
CREATE TABLE room_totals (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    live_public INTEGER NOT NULL
);

INSERT INTO room_totals (id, live_public)
SELECT 1, count(*) FROM rooms WHERE deleted_at IS NULL AND is_private = 0;

CREATE TRIGGER rooms_total_create AFTER INSERT ON rooms
WHEN NEW.deleted_at IS NULL AND NEW.is_private = 0
BEGIN
    UPDATE room_totals SET live_public = live_public + 1 WHERE id = 1;
END;

CREATE TRIGGER rooms_total_change AFTER UPDATE OF is_private, deleted_at ON rooms
WHEN (OLD.deleted_at IS NULL AND OLD.is_private = 0) <> (NEW.deleted_at IS NULL AND NEW.is_private = 0)
BEGIN
    UPDATE room_totals
    SET live_public = live_public + CASE WHEN NEW.deleted_at IS NULL AND NEW.is_private = 0 THEN 1 ELSE -1 END
    WHERE id = 1;
END;

-- Room listing, newest first: with is_private (and deleted_at, which SQLite needs in the index to
-- call it covering) the listing skips to a deep page on the index alone.
DROP INDEX rooms_live_newest;

CREATE INDEX rooms_live_newest ON rooms (created_at DESC, id DESC, is_private, deleted_at) WHERE deleted_at IS NULL;

-- The private rooms a user is in, for the listing's `total`: (user, room) then the room's row.
-- `memberships_user` (user_id, room_id) from version 1 already serves `joined=true`.

-- History pages, unreadCount and lastMessageAt in one index: pages are a range of (room_id, seq);
-- counting unread messages (live, by others, after the marker) reads the index alone, never the
-- table; the newest live message is the first entry from the end with no deleted_at.
CREATE INDEX messages_room_history ON messages (room_id, seq, deleted_at, author_id);

DROP INDEX messages_room_seq;

-- Nothing filters messages by author alone.
DROP INDEX messages_author;

-- The purge of expired keys, oldest first and bounded per call, whoever sent them.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- A keyed send is one INSERT: the message carries its Idempotency-Key and request digest, and
-- this trigger claims the key in the same statement (taking over an expired claim) and purges
-- at most 16 expired keys, oldest first, whoever sent them: each keyed send adds one key, so the
-- purge keeps up, and no send pays for a backlog. Keys are kept 24 hours.
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;

ALTER TABLE messages ADD COLUMN request_hash TEXT;

CREATE TRIGGER messages_claim_idempotency_key AFTER INSERT ON messages
WHEN NEW.idempotency_key IS NOT NULL
BEGIN
    DELETE FROM idempotency_keys WHERE rowid IN (
        SELECT rowid FROM idempotency_keys
        WHERE created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-24 hours')
        ORDER BY created_at LIMIT 16);
    INSERT OR REPLACE INTO idempotency_keys
        (user_id, room_id, idempotency_key, request_hash, message_id, created_at)
    VALUES (NEW.author_id, NEW.room_id, NEW.idempotency_key, NEW.request_hash, NEW.id, NEW.created_at);
END;
