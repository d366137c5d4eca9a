-- Erasure reaches backups for who was known, and one bad outbox row never blocks the rest.
--
-- people.lookup (the keyed HMAC of the Telegram id) moves to the erasure key store, which
-- backups never carry and erasure deletes from: a backup taken from now on, opened with the key
-- material that exists after a /delete, cannot tell that the erased Telegram id was ever known.
-- Store.open copies the tags into the key store (only those of people the key store still
-- holds a secret for, or who never needed one) BEFORE this runs; it runs with foreign keys off
-- and they are checked before the commit, so the rebuild below cascades nothing.
--
-- outbox.state gains 'parked': a row that failed inside the bot (not at Telegram) on every one
-- of a bounded number of attempts. It is set aside, counted by `peerdoor check-config` and the
-- log (delivery.parked), and never holds back the rows behind it.

CREATE TABLE people_0008 (
    id          TEXT PRIMARY KEY,          -- random, never derived from the Telegram id
    telegram_id BLOB NOT NULL,             -- sealed
    settings    BLOB,                      -- sealed, opaque to storage
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
INSERT INTO people_0008 (id, telegram_id, settings, created_at, updated_at)
    SELECT id, telegram_id, settings, created_at, updated_at FROM people;
DROP TABLE people;
ALTER TABLE people_0008 RENAME TO people;

CREATE TABLE outbox_0008 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL,
    recipient_id        TEXT REFERENCES people(id) ON DELETE CASCADE,
    referral_id         TEXT REFERENCES referrals(id) ON DELETE CASCADE,
    payload             BLOB,
    due_at              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    state               TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'failed', 'dropped', 'parked')),
    sent_at             TEXT,
    settled_at          TEXT,
    telegram_message_id INTEGER,
    error               TEXT,
    slot                TEXT,
    claimed_at          TEXT
);
INSERT INTO outbox_0008 (id, kind, recipient_id, referral_id, payload, due_at, created_at,
                         attempts, state, sent_at, settled_at, telegram_message_id, error, slot,
                         claimed_at)
    SELECT id, kind, recipient_id, referral_id, payload, due_at, created_at, attempts, state,
           sent_at, settled_at, telegram_message_id, error, slot, claimed_at FROM outbox;
-- keep AUTOINCREMENT's high-water mark: an id is never given twice
DELETE FROM sqlite_sequence WHERE name = 'outbox_0008';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_0008', seq FROM sqlite_sequence
    WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_0008 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(due_at, id) WHERE state = 'pending';
CREATE INDEX outbox_referral ON outbox(referral_id, kind) WHERE referral_id IS NOT NULL;
CREATE INDEX outbox_recipient ON outbox(recipient_id) WHERE recipient_id IS NOT NULL;
CREATE UNIQUE INDEX outbox_slot ON outbox(referral_id, kind, slot)
    WHERE slot IS NOT NULL AND state != 'dropped';
CREATE INDEX outbox_claimed ON outbox(kind) WHERE state = 'pending' AND claimed_at IS NOT NULL;
CREATE INDEX outbox_parked ON outbox(settled_at) WHERE state = 'parked';
