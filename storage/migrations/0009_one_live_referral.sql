-- At most one live referral per person, held by the database itself (issue #16, finding 5): an
-- old "Yes, I agree" button pressed after sending the form used to start a second form and a
-- second live referral. "Live" is waiting or being worked on (storage.referrals.LIVE); an outcome
-- the person may come back from (deferred, declined, withdrawn) and closed ones are not live.
--
-- A database that already has two live referrals for one person keeps the newest live one;
-- each older one is closed now (then kept and erased like any closed referral). No audit entry
-- is written here: the chain's MAC needs the audit key, which SQL does not have.
UPDATE referrals
   SET status = 'closed',
       closed_at = strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now'),
       updated_at = strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')
 WHERE status IN ('submitted', 'claimed', 'contacted', 'assessing', 'matched')
   AND EXISTS (
       SELECT 1 FROM referrals AS newer
        WHERE newer.person_id = referrals.person_id
          AND newer.status IN ('submitted', 'claimed', 'contacted', 'assessing', 'matched')
          AND (newer.submitted_at > referrals.submitted_at
               OR (newer.submitted_at = referrals.submitted_at AND newer.rowid > referrals.rowid)));

CREATE UNIQUE INDEX referrals_one_live ON referrals(person_id)
    WHERE status IN ('submitted', 'claimed', 'contacted', 'assessing', 'matched');
