-- "/mine": a coordinator's referrals that are not closed. referrals_holder (0002) holds every
-- referral a coordinator ever held, closed ones too, and not the status: counting the open ones
-- read every held row from the table (113 ms for a coordinator holding 44,000 in the
-- 100,000-referral queue benchmark). Two partial indexes hold only the open ones: one in queue
-- order for the page, one that covers the count (holder, status and programme are all in it, so
-- the table is not read). "status != 'closed'" is added to every queue query that asks for no
-- closed status (ReferralRepo.queue_query), so both are used.
CREATE INDEX referrals_holder_open
    ON referrals(holder_id, urgent DESC, submitted_at)
    WHERE status != 'closed';
CREATE INDEX referrals_holder_count
    ON referrals(holder_id, status, programme_tag)
    WHERE status != 'closed';
