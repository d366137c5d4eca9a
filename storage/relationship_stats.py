"""Counts for the report about the relationship part of a referral (issue #15): assessment
outcomes, agreement answers, messages through the bot, "how is it going?" answers. Codes and
counts only, over a given set of referrals (one programme's, in the report's period)."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from storage.models import Referral

#: (key, label) in report order.
ROWS: tuple[tuple[str, str], ...] = (
    ("assessment:match", "assessment outcome: match"),
    ("assessment:group", "assessment outcome: group"),
    ("assessment:defer", "assessment outcome: defer with signposting"),
    ("assessment:not_suitable", "assessment outcome: not suitable"),
    ("agreement:accepted", "agreement accepted (a version)"),
    ("agreement:declined", "agreement not accepted (a version)"),
    ("talk:to_supporter", "messages from people to their supporter"),
    ("talk:to_person", "messages from supporters to the person"),
    ("check:well", "after two meetings: going well"),
    ("check:unsure", "after two meetings: not sure yet"),
    ("check:change", "after two meetings: asked for a different supporter"),
)

_QUERIES = (
    ("assessment", "SELECT outcome, count(*) FROM assessments WHERE referral_id IN ({marks})"
     " GROUP BY outcome"),
    ("agreement", "SELECT answer, count(*) FROM agreements WHERE referral_id IN ({marks})"
     " GROUP BY answer"),
    ("talk", "SELECT direction, count(*) FROM talk WHERE referral_id IN ({marks})"
     " GROUP BY direction"),
    ("check", "SELECT c.answer, count(*) FROM relationship_checks c JOIN engagements e"
     " ON e.id = c.engagement_id WHERE e.referral_id IN ({marks}) GROUP BY c.answer"),
)  # fmt: skip


class RelationshipStats:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def counts(self, referrals: Sequence[Referral]) -> dict[str, int]:
        """Every key of ROWS with its count over ``referrals`` (zeros included)."""
        return await _counts(self._conn, referrals)


async def _counts(conn: aiosqlite.Connection, referrals: Sequence[Referral]) -> dict[str, int]:
    found = {key: 0 for key, _label in ROWS}
    ids = [r.id for r in referrals]
    for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for prefix, sql in _QUERIES:
            rows = await conn.execute_fetchall(sql.format(marks=marks), tuple(chunk))
            for code, n in rows:
                key = f"{prefix}:{code}"
                if key in found:
                    found[key] += int(n)
    return found
