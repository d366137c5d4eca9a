-- One row per person for every conversation in progress (their form, a survey, what a
-- coordinator is typing, a meeting being planned...): a stack of dialog frames, sealed under the
-- person's key (conversations/dialogs.py). The rows of drafts, survey_state and staff_state are
-- moved here, re-sealed, by storage/dialogs.py when the store opens, and those tables dropped.
-- `form` says whether the stack holds a referral form (retention's drafts_days applies); the
-- programme tag is the form's programme, keyed, as drafts had it.
CREATE TABLE dialogs (
    person_id     TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    state         BLOB NOT NULL,
    updated_at    TEXT NOT NULL,
    form          INTEGER NOT NULL DEFAULT 0,
    programme_tag BLOB
);
CREATE INDEX dialogs_form_updated_at ON dialogs(updated_at) WHERE form = 1;
