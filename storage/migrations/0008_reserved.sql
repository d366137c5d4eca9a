-- Reserved for another branch's 0008 (erasure work). This placeholder only keeps the numbers
-- 1..n on the branch that adds 0009: delete it when the real 0008 is merged.
SELECT 1;
