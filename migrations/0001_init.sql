-- The whole schema of the chat rooms API, version 1.
--
-- Applied by the app itself (crates/chat/src/migrations.rs), one statement per `execute` as
-- Spin's sqlite host requires: statements end with `;` and contain no triggers.
-- Timestamps are RFC 3339 UTC text with milliseconds, written by the store's clock
-- (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), so every replica shares one clock.

CREATE TABLE rooms (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    -- The name NFC-normalized and fully case-folded (text::fold_case): live rooms' names are
    -- unique ignoring case.
    name_key    TEXT NOT NULL,
    description TEXT,
    -- The description in the same folded form: search matches name_key or description_key.
    description_key TEXT,
    is_private  INTEGER NOT NULL DEFAULT 0 CHECK (is_private IN (0, 1)),
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    -- Soft delete: the row stays for audit, the API answers 404 and the name is free again.
    deleted_at  TEXT
);

CREATE UNIQUE INDEX rooms_live_name_key ON rooms (name_key) WHERE deleted_at IS NULL;

-- Room listing: newest first, `createdAt` desc then `id` desc.
CREATE INDEX rooms_live_newest ON rooms (created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE memberships (
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    user_id       TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    display_name  TEXT,
    joined_at     TEXT NOT NULL,
    -- Read marker: the sequence of the newest message this member has read.
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);

-- Member listing: `joinedAt` asc within a room; also counts members per room.
CREATE INDEX memberships_room_joined ON memberships (room_id, joined_at, user_id);

-- A user's rooms (`joined=true`, membership look-ups by user).
CREATE INDEX memberships_user ON memberships (user_id, room_id);

-- The last-admin rule counts a room's admins.
CREATE INDEX memberships_room_role ON memberships (room_id, role);

CREATE TABLE invitations (
    room_id    TEXT NOT NULL REFERENCES rooms (id),
    user_id    TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- Invitation listing per room, oldest first.
CREATE INDEX invitations_room_created ON invitations (room_id, created_at, user_id);

-- A user's invitations (`invited=true`).
CREATE INDEX invitations_user ON invitations (user_id, room_id);

CREATE TABLE messages (
    -- Store-assigned, strictly increasing in commit order: the order of history and of cursors.
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    id                   TEXT NOT NULL UNIQUE,
    room_id              TEXT NOT NULL REFERENCES rooms (id),
    author_id            TEXT NOT NULL,
    author_name          TEXT,
    kind                 TEXT NOT NULL CHECK (kind IN ('text', 'image', 'file')),
    -- Kept after a soft delete for audit; never served once `deleted_at` is set.
    content              TEXT,
    attachment_url       TEXT,
    attachment_name      TEXT,
    attachment_mime_type TEXT,
    attachment_size      INTEGER,
    created_at           TEXT NOT NULL,
    deleted_at           TEXT,
    deleted_by           TEXT
);

-- History pages are one range scan of (room_id, seq); also the newest message of a room.
CREATE INDEX messages_room_seq ON messages (room_id, seq);

CREATE INDEX messages_author ON messages (author_id);

CREATE TABLE idempotency_keys (
    user_id         TEXT NOT NULL,
    room_id         TEXT NOT NULL REFERENCES rooms (id),
    idempotency_key TEXT NOT NULL,
    -- A digest of the validated request: the same key with another body is a conflict.
    request_hash    TEXT NOT NULL,
    message_id      TEXT NOT NULL REFERENCES messages (id),
    created_at      TEXT NOT NULL,
    -- Also serves the purge of a sender's keys older than 24 hours.
    PRIMARY KEY (user_id, room_id, idempotency_key)
);

CREATE INDEX idempotency_keys_room ON idempotency_keys (room_id);

CREATE INDEX idempotency_keys_message ON idempotency_keys (message_id);
