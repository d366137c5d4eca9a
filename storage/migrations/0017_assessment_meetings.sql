-- A meeting for the initial assessment (issue #15 item 3): planned by the referral's holder
-- with the same planner and reminders as a supporter's meetings, but before any engagement
-- (sessions need one). The time is plain (reminders are scheduled from it); where they meet is
-- sealed under the person's data key. The rows go with the referral (cascade), so with the
-- person's erasure.
CREATE TABLE assessment_meetings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id  TEXT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    starts_at    TEXT NOT NULL,
    place        BLOB NOT NULL,                      -- sealed (the person's key)
    created_by   TEXT REFERENCES people(id) ON DELETE SET NULL,
    cancelled_at TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX assessment_meetings_referral ON assessment_meetings(referral_id, starts_at);
CREATE INDEX assessment_meetings_created_by ON assessment_meetings(created_by)
    WHERE created_by IS NOT NULL;
