-- Coordination: who holds a referral, roles, invites, the referral's thread, the outbox, the
-- audit trail and coordinators' in-progress state. Same conventions as 0001: BLOB columns named
-- after content are sealed under the owning person's data key; *_tag / *_mac columns hold keyed
-- HMACs. Every foreign-key child column has an index, so erasing a person never scans a table.

-- Referral workflow. The holder and verifier are coordinators: erasing one leaves the referral
-- unassigned (the referrer's data is not theirs).
ALTER TABLE referrals ADD COLUMN holder_id TEXT REFERENCES people(id) ON DELETE SET NULL;
ALTER TABLE referrals ADD COLUMN claimed_at TEXT;
ALTER TABLE referrals ADD COLUMN contacted_at TEXT;
ALTER TABLE referrals ADD COLUMN verified_at TEXT;
ALTER TABLE referrals ADD COLUMN closed_at TEXT;
ALTER TABLE referrals ADD COLUMN verified_by TEXT REFERENCES people(id) ON DELETE SET NULL;
ALTER TABLE referrals ADD COLUMN group_message_id INTEGER;
ALTER TABLE referrals ADD COLUMN outcome BLOB;             -- sealed, opaque to storage

-- The coordinator queue of one programme over the statuses that are not closed, in queue order
-- (urgent first, oldest first, then rowid, which every index carries as its last column, so
-- nothing may follow submitted_at here). Partial: closed referrals, the bulk of the table over
-- time, are not in it. A query uses it only when its WHERE says "status != 'closed'"
-- literally, which ReferralRepo.queue adds whenever no closed status is asked for.
CREATE INDEX referrals_open_queue
    ON referrals(programme_tag, urgent DESC, submitted_at)
    WHERE status != 'closed';
-- One programme, one status (the closed list, an outcome list), in queue order.
CREATE INDEX referrals_programme_status
    ON referrals(programme_tag, status, urgent DESC, submitted_at);
-- "Mine": a coordinator's referrals in queue order; also serves ON DELETE SET NULL.
CREATE INDEX referrals_holder
    ON referrals(holder_id, urgent DESC, submitted_at) WHERE holder_id IS NOT NULL;
CREATE INDEX referrals_verified_by ON referrals(verified_by) WHERE verified_by IS NOT NULL;

-- Staff roles per programme. The programme is a keyed tag; the caller supplies the candidate
-- programme ids (from the config) to map tags back.
CREATE TABLE roles (
    person_id     TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('coordinator', 'supporter')),
    programme_tag BLOB NOT NULL,
    granted_at    TEXT NOT NULL,
    PRIMARY KEY (person_id, role, programme_tag)
) WITHOUT ROWID;
CREATE INDEX roles_programme ON roles(programme_tag, role);

-- One-time invite codes. Only a keyed HMAC of the normalised code is stored.
CREATE TABLE invites (
    code_mac      BLOB PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('coordinator', 'supporter')),
    programme_tag BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT,
    used_by       TEXT REFERENCES people(id) ON DELETE SET NULL
) WITHOUT ROWID;
CREATE INDEX invites_used_by ON invites(used_by) WHERE used_by IS NOT NULL;
CREATE INDEX invites_expires_at ON invites(expires_at);

-- The conversation about one referral: coordinators' notes and relayed messages. Bodies are
-- sealed under the referrer's key (the referral owner), so erasing the referrer shreds them.
CREATE TABLE thread (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id TEXT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('note', 'to_referrer', 'from_referrer')),
    author_id   TEXT REFERENCES people(id) ON DELETE SET NULL,
    body        BLOB,                                      -- sealed
    at          TEXT NOT NULL
);
CREATE INDEX thread_referral ON thread(referral_id, id);
CREATE INDEX thread_author ON thread(author_id) WHERE author_id IS NOT NULL;

-- Messages for someone other than the chat of the current update, and scheduled ones.
-- payload: sealed under the referral owner's key, else the recipient's, else the service key;
-- set to NULL once the row leaves 'pending' (nothing is kept that is no longer needed).
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL,
    recipient_id        TEXT REFERENCES people(id) ON DELETE CASCADE,
    referral_id         TEXT REFERENCES referrals(id) ON DELETE CASCADE,
    payload             BLOB,
    due_at              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    state               TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'failed', 'dropped')),
    sent_at             TEXT,
    settled_at          TEXT,                             -- when it left 'pending' (if known)
    telegram_message_id INTEGER,
    error               TEXT                              -- a short code, never content
);
CREATE INDEX outbox_due ON outbox(due_at, id) WHERE state = 'pending';
CREATE INDEX outbox_referral ON outbox(referral_id, kind) WHERE referral_id IS NOT NULL;
CREATE INDEX outbox_recipient ON outbox(recipient_id) WHERE recipient_id IS NOT NULL;

-- Append-only, hash-chained audit trail. No personal content: action names, reference codes,
-- status names. actor_id is deliberately not a foreign key: erasing the actor must not rewrite
-- (and so break) the chain; after erasure the random id no longer leads anywhere.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor_id  TEXT,
    action    TEXT NOT NULL,
    reference TEXT,
    detail    TEXT NOT NULL,
    prev_mac  BLOB NOT NULL,
    mac       BLOB NOT NULL
);
CREATE INDEX audit_log_reference ON audit_log(reference, seq) WHERE reference IS NOT NULL;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- The chain's head (last seq and mac, plus a MAC over both under the audit key), updated in the
-- same transaction as every append, so that removing entries from the end is detected.
CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    seq      INTEGER NOT NULL,
    mac      BLOB NOT NULL,
    head_mac BLOB NOT NULL
);

-- What a coordinator is typing into (a note or a message for a referral), sealed.
CREATE TABLE staff_state (
    person_id  TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    state      BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
