"""Meetings for the initial assessment (issue #15 item 3): the holder and the person, before
any engagement. Like a session: the time plain, the place sealed under the person's key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import from_text, maybe_time, to_text
from storage.keys import DataKeys
from storage.models import Person, Referral

_COLUMNS = "id, referral_id, starts_at, created_by, cancelled_at, created_at"


@dataclass(frozen=True)
class AssessmentMeeting:
    id: int
    referral_id: str
    starts_at: datetime
    created_by: str | None
    cancelled_at: datetime | None
    created_at: datetime


def _meeting(row: Sequence[Any]) -> AssessmentMeeting:
    mid, referral_id, starts_at, created_by, cancelled_at, created = row
    return AssessmentMeeting(
        int(mid),
        str(referral_id),
        from_text(starts_at),
        created_by,
        maybe_time(cancelled_at),
        from_text(created),
    )


def _row_id(meeting_id: int, referral_id: str) -> str:
    return f"{meeting_id}|{referral_id}"


class AssessmentMeetingRepo:
    def __init__(self, conn: aiosqlite.Connection, keys: DataKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def add(
        self, referral: Referral, starts_at: datetime, place: bytes, author: Person, now: datetime
    ) -> AssessmentMeeting:
        key = await self._keys.get(referral.person_id)
        rows = list(
            await self._conn.execute_fetchall(
                "INSERT INTO assessment_meetings (referral_id, starts_at, place, created_by,"
                " created_at) VALUES (?, ?, x'', ?, ?) RETURNING id",
                (referral.id, to_text(starts_at), author.id, to_text(now)),
            )
        )
        meeting_id = int(rows[0][0])
        sealed = key.seal("assessment_meetings", "place", _row_id(meeting_id, referral.id), place)
        await self._conn.execute(
            "UPDATE assessment_meetings SET place = ? WHERE id = ?", (sealed, meeting_id)
        )
        found = await self.get(meeting_id)
        assert found is not None
        return found

    async def get(self, meeting_id: int) -> AssessmentMeeting | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM assessment_meetings WHERE id = ?",  # noqa: S608
                (meeting_id,),
            )
        )
        return _meeting(rows[0]) if rows else None

    async def for_referral(self, referral: Referral) -> list[AssessmentMeeting]:
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM assessment_meetings"  # noqa: S608
            " WHERE referral_id = ? ORDER BY starts_at, id",
            (referral.id,),
        )
        return [_meeting(row) for row in rows]

    async def place(self, meeting: AssessmentMeeting, referral: Referral) -> bytes:
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT place FROM assessment_meetings WHERE id = ? AND referral_id = ?",
                (meeting.id, referral.id),
            )
        )
        if not rows:
            raise ValueError("no such assessment meeting")
        key = await self._keys.get(referral.person_id)
        return key.open(
            "assessment_meetings", "place", _row_id(meeting.id, referral.id), rows[0][0]
        )

    async def cancel(self, meeting: AssessmentMeeting, now: datetime) -> bool:
        async with self._conn.execute(
            "UPDATE assessment_meetings SET cancelled_at = ?"
            " WHERE id = ? AND cancelled_at IS NULL",
            (to_text(now), meeting.id),
        ) as cursor:
            return cursor.rowcount == 1
