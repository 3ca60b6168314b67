-- Version 3: room search answered from indexes, so a search costs the rooms that match rather
-- than a read of every live room's name and description.
--
-- Search keeps its meaning: the folded search text is a substring of a live room's `name_key` or
-- `description_key`, as `instr` says. The listing (crates/chat/src/repositories/rooms.rs) asks:
-- - for 3 characters or more, `room_search`: FTS5 with the trigram tokenizer, asked for the
--   search as one quoted phrase (consecutive trigrams within one column: a substring of it);
-- - for 1 or 2 characters, which a trigram index cannot answer, `room_search_grams`: the
--   distinct 1- and 2-character substrings of each live room's keys, one index seek.
-- Both hold live rooms only, and the triggers below keep them in the statement that writes the
-- room, so every write stays one statement.
--
-- A key holding U+0000 is indexed only up to it (SQLite's `length` and `substr`, and FTS5's
-- tokenizer, stop there), so such a room is also filed under the gram '' (never a substring of 1
-- or 2 characters), and every search checks those rooms with `instr` instead.
--
-- Every new connection parses the whole schema (a WASIp2 instance opens one per request), so
-- these statements are kept short.

-- One row per live room. FTS5 rows need a stable integer key, which rooms (TEXT ids; VACUUM may
-- renumber an implicit rowid) lack: `doc` is it, and keeps the grams small. `created_at` and
-- `is_private` are copied so a search filters and orders what it matches without reading rooms.
CREATE TABLE room_search_docs (
    doc        INTEGER PRIMARY KEY,
    room_id    TEXT NOT NULL UNIQUE REFERENCES rooms (id),
    created_at TEXT NOT NULL,
    is_private INTEGER NOT NULL
);

-- `columnsize=0`: nothing ranks the matches, so no per-row sizes are kept.
CREATE VIRTUAL TABLE room_search USING fts5(name_key, description_key, tokenize='trigram', columnsize=0);

CREATE TABLE room_search_grams (
    gram TEXT NOT NULL,
    doc  INTEGER NOT NULL,
    PRIMARY KEY (gram, doc)
) WITHOUT ROWID;

-- Each (start, width) of a 1- or 2-character substring, for `substr` (a trigger cannot use a
-- recursive CTE), and (0, 0) for the gram ''. Folding turns a character into at most 3 (a test
-- checks), so the longest text, a 100-character name and a 500-character description, folds to
-- at most 1 801 characters.
CREATE TABLE room_search_positions (
    start INTEGER NOT NULL,
    width INTEGER NOT NULL,
    PRIMARY KEY (start, width)
) WITHOUT ROWID;

INSERT INTO room_search_positions (start, width)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
SELECT i, 1 FROM n UNION ALL SELECT i, 2 FROM n UNION ALL SELECT 0, 0;

-- The grams of each indexed room as its row in `rooms` reads now: the name and the description
-- joined by a space. Grams holding a space are left out: a search is trimmed, so one of 1 or 2
-- characters holds none. At the last start, width 2 repeats the 1-character gram (ignored).
CREATE VIEW room_search_doc_grams AS
SELECT room_id, doc, substr(text, start, width) AS gram
FROM (SELECT d.room_id, d.doc, r.name_key || ' ' || coalesce(r.description_key, '') AS text
      FROM room_search_docs d JOIN rooms r ON r.id = d.room_id)
JOIN room_search_positions ON start <= length(text)
WHERE instr(substr(text, start, width), ' ') = 0 AND (start > 0 OR instr(text, char(0)) > 0);

-- The rooms already there.
INSERT INTO room_search_docs (room_id, created_at, is_private)
SELECT id, created_at, is_private FROM rooms WHERE deleted_at IS NULL;

INSERT INTO room_search (rowid, name_key, description_key)
SELECT d.doc, r.name_key, r.description_key FROM room_search_docs d JOIN rooms r ON r.id = d.room_id;

INSERT OR IGNORE INTO room_search_grams (gram, doc) SELECT gram, doc FROM room_search_doc_grams;

CREATE TRIGGER rooms_search_add AFTER INSERT ON rooms WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO room_search_docs (room_id, created_at, is_private) VALUES (NEW.id, NEW.created_at, NEW.is_private);
    INSERT INTO room_search (rowid, name_key, description_key)
    SELECT doc, NEW.name_key, NEW.description_key FROM room_search_docs WHERE room_id = NEW.id;
    INSERT OR IGNORE INTO room_search_grams SELECT gram, doc FROM room_search_doc_grams WHERE room_id = NEW.id;
END;

-- Before a rename, a new description or a soft delete, while the row still holds the old keys:
-- their grams go, and a deleted room leaves the index (the app never revives one).
CREATE TRIGGER rooms_search_forget BEFORE UPDATE OF name_key, description_key, deleted_at ON rooms
WHEN OLD.deleted_at IS NULL AND (NEW.deleted_at IS NOT NULL
    OR OLD.name_key IS NOT NEW.name_key OR OLD.description_key IS NOT NEW.description_key)
BEGIN
    DELETE FROM room_search_grams
    WHERE doc = (SELECT doc FROM room_search_docs WHERE room_id = OLD.id)
      AND gram IN (SELECT gram FROM room_search_doc_grams WHERE room_id = OLD.id);
    DELETE FROM room_search
    WHERE NEW.deleted_at IS NOT NULL AND rowid = (SELECT doc FROM room_search_docs WHERE room_id = OLD.id);
    DELETE FROM room_search_docs WHERE NEW.deleted_at IS NOT NULL AND room_id = OLD.id;
END;

-- After it, for a live room: the new keys' text and grams, and the copied columns.
CREATE TRIGGER rooms_search_change AFTER UPDATE OF name_key, description_key, is_private, created_at ON rooms
WHEN NEW.deleted_at IS NULL
BEGIN
    UPDATE room_search_docs SET created_at = NEW.created_at, is_private = NEW.is_private
    WHERE room_id = NEW.id AND (created_at IS NOT NEW.created_at OR is_private IS NOT NEW.is_private);
    UPDATE room_search SET name_key = NEW.name_key, description_key = NEW.description_key
    WHERE (OLD.name_key IS NOT NEW.name_key OR OLD.description_key IS NOT NEW.description_key)
      AND rowid = (SELECT doc FROM room_search_docs WHERE room_id = NEW.id);
    INSERT OR IGNORE INTO room_search_grams SELECT gram, doc FROM room_search_doc_grams
    WHERE (OLD.name_key IS NOT NEW.name_key OR OLD.description_key IS NOT NEW.description_key)
      AND room_id = NEW.id;
END;
