-- One screen number per person that never goes back (conversations/dialogs.py).
--
-- Every screen any of a person's dialogs shows takes the next number, and a button carries the
-- number of its screen: a press on any older screen is stale by one comparison. The number is
-- kept here rather than in the person's sealed dialog row, because that row is deleted when
-- their last dialog ends and the number must outlive it. It is a count of screens, nothing a
-- person said: it needs no sealing. It goes with the person (erasure deletes the people row).

CREATE TABLE screen_counters (
    person_id TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    screens   INTEGER NOT NULL
);
