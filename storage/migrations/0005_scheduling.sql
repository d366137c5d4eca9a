-- Scheduling: check-ins and other messages on a calendar. The outbox stays the only truth of what
-- is to be sent and when (due_at, UTC); the bot's in-memory timers are only rearmed from it.
--
-- slot: which occurrence of a recurring message a row is ("w0", "w1" ... for waiting
-- check-ins, "door" for the one after a deferral). One row per (referral, kind, slot) unless it
-- was dropped (a /stop): arming twice, a retry or a restart can never queue the same check-in
-- twice, and a sent or failed one is never queued again.
--
-- claimed_at: set, in its own commit, the moment an at-most-once message goes on the wire (after
-- the rate limiter let it through). A row still claimed at start-up was being sent when the bot
-- died: it may have arrived, so it is settled as failed ("ambiguous"), never sent again.
ALTER TABLE outbox ADD COLUMN slot TEXT;
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
CREATE UNIQUE INDEX outbox_slot ON outbox(referral_id, kind, slot)
    WHERE slot IS NOT NULL AND state != 'dropped';
CREATE INDEX outbox_claimed ON outbox(kind) WHERE state = 'pending' AND claimed_at IS NOT NULL;
