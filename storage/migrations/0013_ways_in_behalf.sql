-- Referrals made on someone's behalf (issue 13): by a professional through the bot, or taken by
-- a coordinator by phone or in person. The person referred may have no Telegram account: their
-- people row then holds a sealed empty telegram_id, and a lookup tag in the key store that no
-- Telegram id can produce (storage/people.py create_offline).
--
-- One row per referral made by someone else: who made it (`referrer_id`: the professional's or
-- the coordinator's person row), their details (name, role, organisation, how to reach them)
-- sealed under the REFERRER's key, apart from the person's answers (sealed under the person's
-- key in referrals.answers). Erasing either the person (their referral goes) or the referrer
-- deletes the row. `updates`: the professional asked for the two discreet updates and the
-- programme allows them; `told`: which of them were queued ("received", "contacted"), so each is
-- sent once. `questionnaire`: the name of the programme's questionnaire the answers follow (NULL:
-- the programme's own form), so the coordinator's view shows them with their questions.
CREATE TABLE referrers (
    referral_id TEXT PRIMARY KEY REFERENCES referrals(id) ON DELETE CASCADE,
    referrer_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    details     BLOB NOT NULL,
    updates     INTEGER NOT NULL DEFAULT 0,
    told        TEXT NOT NULL DEFAULT '',
    questionnaire TEXT
);
CREATE INDEX referrers_by_referrer ON referrers(referrer_id);

-- Reports: the answers to questions marked `report = true` in the config (a choice or yes/no
-- question, never free text), counted when a referral is sent, as counts only: one row per
-- programme (keyed tag), question, answer (an option id, or yes/no) and month. No person, no
-- referral; erasing a person later does not change these counts.
CREATE TABLE answer_counts (
    programme_tag BLOB NOT NULL,
    question_id   TEXT NOT NULL,
    answer        TEXT NOT NULL,
    month         TEXT NOT NULL,                       -- YYYY-MM (UTC)
    count         INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (programme_tag, question_id, answer, month)
) WITHOUT ROWID;
