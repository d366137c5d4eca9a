-- Volunteers on their way to becoming peer supporters (issue 15), one row per person and
-- programme. stage is plain, so coordinators' lists need not open records; everything else
-- (the application, the dates and who moved them, notes, training modules, checks, supervision
-- sessions) is one record sealed under the volunteer's own key, so erasing them shreds it, and
-- the row goes with the person.
CREATE TABLE applicants (
    id            TEXT PRIMARY KEY,                     -- short random code (callback data)
    person_id     TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    programme_tag BLOB NOT NULL,                        -- keyed tag of the programme id
    stage         TEXT NOT NULL CHECK (stage IN
                  ('applied', 'talked', 'training', 'checked', 'active', 'not_now', 'withdrew')),
    record        BLOB NOT NULL,                        -- sealed (the volunteer's key)
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX applicants_person ON applicants(person_id, programme_tag);
CREATE INDEX applicants_programme ON applicants(programme_tag, stage);
