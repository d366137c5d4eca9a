-- One screen number per person that never goes back (conversations/dialogs.py).
--
-- Every screen any of a person's dialogs shows takes the next number, and a button carries the
-- number of its screen: a press on any older screen is stale by one comparison. The number is
-- kept here, next to the person, rather than in their sealed dialog row, because that row is
-- deleted when their last dialog ends and the number must outlive it. It is a count of
-- screens, nothing a person said: it needs no sealing. Erasure deletes it with the person.

ALTER TABLE people ADD COLUMN screens INTEGER NOT NULL DEFAULT 0;
