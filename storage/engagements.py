"""Engagements: a referral offered to a peer supporter, accepted or declined, and ended.

At most one live engagement ("offered" or "accepted") per referral (a unique partial index), so
two coordinators offering at once cannot both succeed. Deciding is one UPDATE guarded by the
status, so a double tap or two devices give one decision. The hand-over (which of the referrer's
answers the coordinator chose to share) is sealed under the referrer's key.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import from_text, maybe_time, to_text
from storage.keys import DataKeys
from storage.models import Engagement, Person, Referral
from storage.referrals import CROCKFORD

LIVE = ("offered", "accepted")
_COLUMNS = "id, referral_id, supporter_id, offered_by, status, offered_at, decided_at, ended_at"


def _engagement(row: Sequence[Any]) -> Engagement:
    eid, referral_id, supporter_id, offered_by, status, offered_at, decided_at, ended_at = row
    return Engagement(
        eid,
        referral_id,
        supporter_id,
        offered_by,
        status,
        from_text(offered_at),
        maybe_time(decided_at),
        maybe_time(ended_at),
    )


def new_engagement_id() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(8))


class EngagementRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def offer(
        self,
        referral: Referral,
        supporter: Person,
        coordinator: Person,
        handover: bytes,
        now: datetime,
    ) -> Engagement | None:
        """Offer the referral to ``supporter``; None if it already has a live offer or match."""
        key = await self._keys.get(referral.person_id)
        for _ in range(10):
            eid = new_engagement_id()
            try:
                await self._conn.execute(
                    "INSERT INTO engagements (id, referral_id, supporter_id, offered_by, status,"
                    " handover, offered_at) VALUES (?, ?, ?, ?, 'offered', ?, ?)",
                    (
                        eid,
                        referral.id,
                        supporter.id,
                        coordinator.id,
                        key.seal("engagements", "handover", f"{eid}|{referral.id}", handover),
                        to_text(now),
                    ),
                )
            except sqlite3.IntegrityError as e:
                if "engagements.id" in str(e):
                    continue  # a collision on the short id: draw again
                if "engagements.referral_id" in str(e):
                    return None  # a live engagement exists already
                raise
            return await self.get(eid)
        raise RuntimeError("no free engagement id")

    async def get(self, engagement_id: str) -> Engagement | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM engagements WHERE id = ?",  # noqa: S608
                (engagement_id.strip().upper(),),
            )
        )
        return _engagement(rows[0]) if rows else None

    async def live(self, referral: Referral) -> Engagement | None:
        """The referral's current offer or match, if any."""
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM engagements"  # noqa: S608
                " WHERE referral_id = ? AND status IN ('offered', 'accepted')",
                (referral.id,),
            )
        )
        return _engagement(rows[0]) if rows else None

    async def for_referral(self, referral: Referral) -> list[Engagement]:
        """Every engagement of the referral, oldest first."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM engagements"  # noqa: S608
            " WHERE referral_id = ? ORDER BY offered_at, rowid",
            (referral.id,),
        )
        return [_engagement(row) for row in rows]

    async def for_supporter(
        self, supporter: Person, statuses: Sequence[str] = LIVE
    ) -> list[Engagement]:
        """The supporter's engagements in these statuses, oldest first."""
        marks = ", ".join("?" * len(statuses))
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM engagements"  # noqa: S608 - placeholders only
            f" WHERE supporter_id = ? AND status IN ({marks}) ORDER BY offered_at, rowid",
            (supporter.id, *statuses),
        )
        return [_engagement(row) for row in rows]

    async def load(self, supporter_ids: Sequence[str]) -> dict[str, int]:
        """How many live engagements (offered or accepted) each of these supporters has."""
        if not supporter_ids:
            return {}
        marks = ", ".join("?" * len(supporter_ids))
        rows = await self._conn.execute_fetchall(
            "SELECT supporter_id, count(*) FROM engagements"  # noqa: S608 - placeholders only
            f" WHERE supporter_id IN ({marks}) AND status IN ('offered', 'accepted')"
            " GROUP BY supporter_id",
            tuple(supporter_ids),
        )
        found = {str(sid): int(n) for sid, n in rows}
        return {sid: found.get(sid, 0) for sid in supporter_ids}

    async def decide(self, engagement: Engagement, status: str, now: datetime) -> bool:
        """An offer becomes "accepted", "declined" or "withdrawn"; True only for the call that
        decided (a second tap, or a decision after a withdrawal, changes nothing)."""
        if status not in ("accepted", "declined", "withdrawn"):
            raise ValueError(f"an offer cannot become {status!r}")
        async with self._conn.execute(
            "UPDATE engagements SET status = ?, decided_at = ?"
            " WHERE id = ? AND status = 'offered'",
            (status, to_text(now), engagement.id),
        ) as cursor:
            return cursor.rowcount == 1

    async def end(self, engagement: Engagement, now: datetime) -> bool:
        """An accepted engagement ends (support finished, or the supporter left)."""
        async with self._conn.execute(
            "UPDATE engagements SET status = 'ended', ended_at = ?"
            " WHERE id = ? AND status = 'accepted'",
            (to_text(now), engagement.id),
        ) as cursor:
            return cursor.rowcount == 1

    async def handover(self, engagement: Engagement, referral: Referral) -> bytes | None:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT handover FROM engagements WHERE id = ?", (engagement.id,)
            )
        )
        if not rows or rows[0][0] is None:
            return None
        key = await self._keys.get(referral.person_id)
        return key.open(
            "engagements", "handover", f"{engagement.id}|{engagement.referral_id}", rows[0][0]
        )
