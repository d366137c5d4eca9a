-- Ways in (issue 13). `route`: how the referral came (self for now; "professional" and "staff"
-- come with referrals made on someone's behalf). It is a workflow fact, not about the person's
-- health, so it is plain, for the report. `source`: the configured source of the link the person
-- came by (which clinic, which group), sealed under the person's key like the answers, because
-- which clinic someone attends is sensitive. `source_tag`: a keyed tag of programme and source
-- (LookupKeys.source) so that the report can count per source without opening anything. Both
-- NULL when the person came by a plain link.
ALTER TABLE referrals ADD COLUMN route TEXT NOT NULL DEFAULT 'self';
ALTER TABLE referrals ADD COLUMN source BLOB;
ALTER TABLE referrals ADD COLUMN source_tag BLOB;
