-- Peer supporters, matches, sessions and the surveys at the end of support. Same conventions as
-- before: BLOB columns named after content are sealed; every foreign-key child column has an
-- index, so erasing a person never scans a table.

-- A supporter's profile (languages, gender, availability, setting, area, interests, capacity,
-- the name coordinators know them by), sealed under the supporter's own key. paused: not
-- offered new people for now (plain: the ranking filters on it without opening profiles).
CREATE TABLE supporters (
    person_id  TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    profile    BLOB NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    updated_at TEXT NOT NULL
);

-- A referral offered to a supporter by a coordinator, and what became of it. The hand-over
-- (which answers the coordinator chose to share) is sealed under the referrer's key, so erasing
-- the referrer shreds it (and the row goes with the referral). A supporter erased or gone
-- leaves supporter_id NULL: the coordinator sees the match has no supporter any more.
CREATE TABLE engagements (
    id           TEXT PRIMARY KEY,                     -- short random code (callback data)
    referral_id  TEXT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    supporter_id TEXT REFERENCES people(id) ON DELETE SET NULL,
    offered_by   TEXT REFERENCES people(id) ON DELETE SET NULL,
    status       TEXT NOT NULL
                 CHECK (status IN ('offered', 'accepted', 'declined', 'withdrawn', 'ended')),
    handover     BLOB,                                 -- sealed (referrer's key)
    offered_at   TEXT NOT NULL,
    decided_at   TEXT,
    ended_at     TEXT
);
CREATE INDEX engagements_referral ON engagements(referral_id, offered_at);
CREATE INDEX engagements_supporter ON engagements(supporter_id, status)
    WHERE supporter_id IS NOT NULL;
CREATE INDEX engagements_offered_by ON engagements(offered_by) WHERE offered_by IS NOT NULL;
-- At most one live offer or match per referral.
CREATE UNIQUE INDEX engagements_live ON engagements(referral_id)
    WHERE status IN ('offered', 'accepted');

-- Sessions of an engagement. starts_at is UTC; where (online, or the place) is sealed under
-- the referrer's key. outcome: the supporter's one-tap log after the session.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    engagement_id TEXT NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    starts_at     TEXT NOT NULL,
    place         BLOB NOT NULL,                       -- sealed (referrer's key)
    created_by    TEXT REFERENCES people(id) ON DELETE SET NULL,
    outcome       TEXT CHECK (outcome IN ('happened', 'missed', 'concern')),
    logged_at     TEXT,
    cancelled_at  TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX sessions_engagement ON sessions(engagement_id, starts_at);
CREATE INDEX sessions_created_by ON sessions(created_by) WHERE created_by IS NOT NULL;

-- Answers to the surveys at the end of support: the person's feedback and the supporter's
-- closing report, sealed under the referrer's key (erased with them). engagement_id: which
-- match it was about (a referral may be matched again later); one of each kind per match.
CREATE TABLE surveys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id   TEXT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    engagement_id TEXT REFERENCES engagements(id) ON DELETE SET NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('feedback', 'closing')),
    author_id     TEXT REFERENCES people(id) ON DELETE SET NULL,
    answers       BLOB NOT NULL,                       -- sealed (referrer's key)
    submitted_at  TEXT NOT NULL
);
CREATE INDEX surveys_referral ON surveys(referral_id, kind);
CREATE UNIQUE INDEX surveys_engagement ON surveys(engagement_id, kind)
    WHERE engagement_id IS NOT NULL;
CREATE INDEX surveys_author ON surveys(author_id) WHERE author_id IS NOT NULL;

-- A survey someone is in the middle of (one at a time per person), sealed under their key.
CREATE TABLE survey_state (
    person_id  TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    state      BLOB NOT NULL,
    updated_at TEXT NOT NULL
);

-- Reports: anonymous feedback, as counts only, and only from people who agreed to feedback for
-- evaluation. No person, no referral: one row per programme (keyed tag), question, answer
-- (an option id, or a number) and month.
CREATE TABLE feedback_counts (
    programme_tag BLOB NOT NULL,
    question_id   TEXT NOT NULL,
    answer        TEXT NOT NULL,
    month         TEXT NOT NULL,                       -- YYYY-MM (UTC)
    count         INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (programme_tag, question_id, answer, month)
) WITHOUT ROWID;
