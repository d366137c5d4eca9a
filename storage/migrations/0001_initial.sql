-- Initial schema. Sealed columns (BLOB) hold nonce || AES-GCM ciphertext of a padded plaintext
-- under the owner's data key; *_lookup / *_tag columns hold keyed HMACs, never plaintext.

-- Secrets the database needs that are not derived from the master key (the lookup secret),
-- stored wrapped under a master key named by key_id.
CREATE TABLE secrets (
    name    TEXT PRIMARY KEY,
    key_id  TEXT NOT NULL,
    wrapped BLOB NOT NULL
);

CREATE TABLE people (
    id          TEXT PRIMARY KEY,          -- random, never derived from the Telegram id
    lookup      BLOB NOT NULL UNIQUE,      -- HMAC of the Telegram user id
    telegram_id BLOB NOT NULL,             -- sealed
    settings    BLOB,                      -- sealed, opaque to storage
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- One wrapped data key per person. Deleting the row shreds everything sealed under it.
CREATE TABLE person_keys (
    person_id TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    version   INTEGER NOT NULL,
    key_id    TEXT NOT NULL,               -- which master key wraps it
    wrapped   BLOB NOT NULL
);
CREATE INDEX person_keys_key_id ON person_keys(key_id);

CREATE TABLE drafts (
    person_id  TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    state      BLOB NOT NULL,              -- sealed
    updated_at TEXT NOT NULL
);

CREATE TABLE referrals (
    id            TEXT PRIMARY KEY,
    reference     TEXT NOT NULL UNIQUE,    -- e.g. PD-7K3F9Q
    person_id     TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    programme_tag BLOB NOT NULL,           -- HMAC of the programme id, for filtering
    programme_id  BLOB NOT NULL,           -- sealed
    answers       BLOB NOT NULL,           -- sealed
    status        TEXT NOT NULL,
    urgent        INTEGER NOT NULL CHECK (urgent IN (0, 1)),
    submitted_at  TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
-- The coordinator queue: by status, urgent first, then oldest.
CREATE INDEX referrals_queue ON referrals(status, urgent DESC, submitted_at);
CREATE INDEX referrals_person ON referrals(person_id, submitted_at);

-- Telegram updates already applied (exactly-once effects).
CREATE TABLE processed_updates (
    update_id  INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
);
CREATE INDEX processed_updates_applied_at ON processed_updates(applied_at);
