-- Reports: how far people get in the form, as counts only. One row per programme (keyed tag, as
-- referrals.programme_tag), question id and UTC day: how many times that question was shown for
-- the first time in someone's form that day. No person id, no answer, no time of day.
CREATE TABLE funnel (
    programme_tag BLOB NOT NULL,
    question_id   TEXT NOT NULL,
    day           TEXT NOT NULL,           -- YYYY-MM-DD (UTC)
    reached       INTEGER NOT NULL CHECK (reached >= 0),
    PRIMARY KEY (programme_tag, question_id, day)
) WITHOUT ROWID;
