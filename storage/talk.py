"""Messages between a supporter and the person they support, passed on by the bot.

Neither side sees the other's Telegram account: the bot relays. Bodies are sealed under the
person's data key (the referral's owner), whoever wrote them, so erasing the person shreds them
all; the rows go with the engagement (cascade). The associated data binds a body to its id,
engagement and direction: a message cannot be moved to another engagement or turned around.
``holder_reads`` records whether the programme let the holder read it, and the person was told
so, at the moment it was written: changing the setting later never opens older messages.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import aiosqlite

from storage.db import from_text, to_text
from storage.keys import DataKeys
from storage.models import Engagement, Referral

Direction = Literal["to_person", "to_supporter"]
Side = Literal["person", "supporter"]
DIRECTIONS: tuple[Direction, ...] = ("to_person", "to_supporter")


@dataclass(frozen=True)
class TalkMessage:
    id: int
    engagement_id: str
    direction: Direction
    holder_reads: bool
    body: bytes
    at: datetime


def _row_id(message_id: int, engagement_id: str, direction: str) -> str:
    return f"{message_id}|{engagement_id}|{direction}"


class TalkRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def add(
        self,
        engagement: Engagement,
        referral: Referral,
        direction: Direction,
        body: bytes,
        holder_reads: bool,
        now: datetime,
    ) -> int:
        """Keep one message, sealed; returns its id."""
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}; expected one of {DIRECTIONS}")
        if engagement.referral_id != referral.id:
            raise ValueError("the engagement is not the referral's")
        key = await self._keys.get(referral.person_id)
        rows = list(
            await self._conn.execute_fetchall(
                "INSERT INTO talk (engagement_id, referral_id, direction, holder_reads, at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (engagement.id, referral.id, direction, int(holder_reads), to_text(now)),
            )
        )
        message_id = int(rows[0][0])
        sealed = key.seal("talk", "body", _row_id(message_id, engagement.id, direction), body)
        await self._conn.execute("UPDATE talk SET body = ? WHERE id = ?", (sealed, message_id))
        return message_id

    async def get(self, message_id: int, referral: Referral) -> TalkMessage | None:
        found = await self._select(referral, "id = ?", (message_id,))
        return found[0] if found else None

    async def list(
        self, referral: Referral, engagement: Engagement | None = None
    ) -> builtins.list[TalkMessage]:
        """The referral's messages (of one engagement), oldest first, bodies opened."""
        if engagement is None:
            return await self._select(referral, "1 = 1", ())
        return await self._select(referral, "engagement_id = ?", (engagement.id,))

    async def count_since(
        self, engagement: Engagement, direction: Direction, since: datetime
    ) -> int:
        rows = await self._conn.execute_fetchall(
            "SELECT count(*) FROM talk WHERE engagement_id = ? AND direction = ? AND at >= ?",
            (engagement.id, direction, to_text(since)),
        )
        return int(next(iter(rows))[0])

    async def count(self) -> dict[str, int]:
        """How many messages went each way, over every engagement (for reports)."""
        rows = await self._conn.execute_fetchall(
            "SELECT direction, count(*) FROM talk GROUP BY direction"
        )
        found = {str(d): int(n) for d, n in rows}
        return {d: found.get(d, 0) for d in DIRECTIONS}

    async def stopped_by(self, engagement: Engagement) -> Side | None:
        """Who stopped the engagement's messages, or None while they flow."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT stopped_by FROM talk_stops WHERE engagement_id = ?", (engagement.id,)
            )
        )
        if not rows:
            return None
        side = str(rows[0][0])
        return "person" if side == "person" else "supporter"

    async def stop(self, engagement: Engagement, by: Side, now: datetime) -> bool:
        """Stop the messages; True only for the call that stopped them."""
        async with self._conn.execute(
            "INSERT INTO talk_stops (engagement_id, stopped_by, at) VALUES (?, ?, ?)"
            " ON CONFLICT (engagement_id) DO NOTHING",
            (engagement.id, by, to_text(now)),
        ) as cursor:
            return cursor.rowcount == 1

    async def restart(self, engagement: Engagement, by: Side) -> bool:
        """The side that stopped the messages lets them flow again; True if it did."""
        async with self._conn.execute(
            "DELETE FROM talk_stops WHERE engagement_id = ? AND stopped_by = ?",
            (engagement.id, by),
        ) as cursor:
            return cursor.rowcount == 1

    async def _select(
        self, referral: Referral, where: str, args: tuple[object, ...]
    ) -> builtins.list[TalkMessage]:
        rows = await self._conn.execute_fetchall(
            "SELECT id, engagement_id, direction, holder_reads, body, at FROM talk"  # noqa: S608
            f" WHERE referral_id = ? AND {where} ORDER BY id",
            (referral.id, *args),
        )
        if not rows:
            return []
        key = await self._keys.get(referral.person_id)
        return [
            TalkMessage(
                int(mid),
                str(eid),
                "to_person" if direction == "to_person" else "to_supporter",
                bool(reads),
                key.open("talk", "body", _row_id(int(mid), str(eid), str(direction)), body),
                from_text(at),
            )
            for mid, eid, direction, reads, body, at in rows
        ]
