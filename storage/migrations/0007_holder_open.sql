-- "/mine": a coordinator's referrals that are not closed, in queue order. referrals_holder
-- (0002) holds every referral a coordinator ever held, closed ones too, so counting the open
-- ones read them all (113 ms for a coordinator with 44,000 in the 100,000-referral queue
-- benchmark). This partial index holds only the open ones; "status != 'closed'" is added to
-- every queue query that asks for no closed status (ReferralRepo.queue_query), so it is used.
CREATE INDEX referrals_holder_open
    ON referrals(holder_id, urgent DESC, submitted_at)
    WHERE status != 'closed';
