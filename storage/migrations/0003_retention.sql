-- Retention. Which programme an unfinished form belongs to, as a keyed tag (HMAC of the
-- programme id, like referrals.programme_tag), so the purge can apply each programme's
-- drafts_days without opening every draft. NULL when the saver did not say: the purge then opens
-- only drafts already older than the shortest retention, and tags the ones it keeps.
ALTER TABLE drafts ADD COLUMN programme_tag BLOB;
CREATE INDEX drafts_updated_at ON drafts(updated_at);
-- Closed referrals of one programme by when they were closed.
CREATE INDEX referrals_closed
    ON referrals(programme_tag, coalesce(closed_at, updated_at))
    WHERE status = 'closed';
