-- A supporter and the person they support write to each other through the bot (issue #15).
--
-- talk: one row per message, bound to the engagement it belongs to. The body is sealed under
-- the person's data key (the referral's owner), whoever wrote it, so erasing the person shreds
-- every message; the rows go with the engagement and the referral (cascade). holder_reads is
-- whether the programme let the holder read it and the person was told so when it was written.
-- talk_stops: either side stopped the messages of an engagement (and who, to let them restart).

CREATE TABLE talk (
    id            INTEGER PRIMARY KEY,
    engagement_id TEXT NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    referral_id   TEXT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    direction     TEXT NOT NULL CHECK (direction IN ('to_person', 'to_supporter')),
    holder_reads  INTEGER NOT NULL DEFAULT 0 CHECK (holder_reads IN (0, 1)),
    at            TEXT NOT NULL,
    body          BLOB
);
CREATE INDEX talk_engagement ON talk(engagement_id, direction, at);
CREATE INDEX talk_referral ON talk(referral_id);

CREATE TABLE talk_stops (
    engagement_id TEXT PRIMARY KEY REFERENCES engagements(id) ON DELETE CASCADE,
    stopped_by    TEXT NOT NULL CHECK (stopped_by IN ('person', 'supporter')),
    at            TEXT NOT NULL
);

-- The confidentiality agreement: a person's answer to one version of their
-- programme's agreement, per referral. No content: the version is the config's short code, the
-- answer one of two words. The rows go with the referral (cascade), so with the person's
-- erasure.

CREATE TABLE agreements (
    referral_id TEXT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    version     TEXT NOT NULL,
    answer      TEXT NOT NULL CHECK (answer IN ('accepted', 'declined')),
    at          TEXT NOT NULL,
    PRIMARY KEY (referral_id, version)
) WITHOUT ROWID;

-- The relationship looked after: after the first two meetings the person is asked how it is
-- going (one answer per engagement; a short code, never words). The supporter's id is kept so
-- coordinators can see answers per supporter, only once there are enough of them to say
-- nothing about any one person (the report needs at least five).
CREATE TABLE relationship_checks (
    engagement_id TEXT PRIMARY KEY REFERENCES engagements(id) ON DELETE CASCADE,
    supporter_id  TEXT REFERENCES people(id) ON DELETE SET NULL,
    answer        TEXT NOT NULL CHECK (answer IN ('well', 'unsure', 'change')),
    at            TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX relationship_checks_supporter ON relationship_checks(supporter_id)
    WHERE supporter_id IS NOT NULL;

-- The initial assessment: what the holder answered at "Assessing". The answers are sealed under
-- the person's data key (the referral's owner), so erasing the person shreds them; the outcome
-- is a short code from the config (match, group, defer, not_suitable), counted in reports.
CREATE TABLE assessments (
    id          INTEGER PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    by_id       TEXT REFERENCES people(id) ON DELETE SET NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('match', 'group', 'defer', 'not_suitable')),
    at          TEXT NOT NULL,
    answers     BLOB
);
CREATE INDEX assessments_referral ON assessments(referral_id, id);
CREATE INDEX assessments_by ON assessments(by_id) WHERE by_id IS NOT NULL;
