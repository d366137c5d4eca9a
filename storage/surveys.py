"""Surveys at the end of support: the person's feedback and the supporter's closing report.

Answers are sealed under the referrer's key (erased with them). Someone in the middle of a
survey has one sealed state row. Anonymous counts for reports (``count``/``counts``) hold no
person and no referral: a programme tag, a question, an answer and a month.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import aiosqlite

from storage.crypto import LookupKeys
from storage.db import from_text, to_text
from storage.dialogs import DialogRepo
from storage.keys import DataKeys
from storage.models import Person, Referral

KINDS = ("feedback", "closing")


@dataclass(frozen=True)
class SurveyEntry:
    """One submitted survey, opened: its kind, the engagement it was about, when, answers."""

    kind: str
    engagement_id: str | None
    submitted_at: datetime
    answers: bytes


class SurveyRepo:
    def __init__(
        self, conn: aiosqlite.Connection, keys: DataKeys, lookup: LookupKeys, dialogs: DialogRepo
    ) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup
        self._dialogs = dialogs  # a survey in progress is the "survey" frame

    # -- answers ---------------------------------------------------------------------------

    async def submit(
        self,
        referral: Referral,
        kind: str,
        author: Person,
        answers: bytes,
        now: datetime,
        engagement_id: str | None = None,
    ) -> int:
        """Store one survey's answers; at most one of each kind per engagement (a second
        submission for the same engagement raises sqlite3.IntegrityError)."""
        if kind not in KINDS:
            raise ValueError(f"unknown survey kind {kind!r}")
        key = await self._keys.get(referral.person_id)
        rows = list(
            await self._conn.execute_fetchall(
                "INSERT INTO surveys (referral_id, engagement_id, kind, author_id, answers,"
                " submitted_at) VALUES (?, ?, ?, ?, x'', ?) RETURNING id",
                (referral.id, engagement_id, kind, author.id, to_text(now)),
            )
        )
        survey_id = int(rows[0][0])
        sealed = key.seal("surveys", "answers", f"{survey_id}|{referral.id}|{kind}", answers)
        await self._conn.execute(
            "UPDATE surveys SET answers = ? WHERE id = ?", (sealed, survey_id)
        )
        return survey_id

    async def answers(self, referral: Referral, kind: str) -> list[bytes]:
        """Every submitted survey of this kind for the referral, oldest first, opened."""
        rows = await self._conn.execute_fetchall(
            "SELECT id, answers FROM surveys WHERE referral_id = ? AND kind = ? ORDER BY id",
            (referral.id, kind),
        )
        if not rows:
            return []
        key = await self._keys.get(referral.person_id)
        return [
            key.open("surveys", "answers", f"{sid}|{referral.id}|{kind}", sealed)
            for sid, sealed in rows
        ]

    async def entries(self, referral: Referral) -> list[SurveyEntry]:
        """Every submitted survey of the referral (both kinds), oldest first, opened."""
        rows = await self._conn.execute_fetchall(
            "SELECT id, kind, engagement_id, submitted_at, answers FROM surveys"
            " WHERE referral_id = ? ORDER BY id",
            (referral.id,),
        )
        if not rows:
            return []
        key = await self._keys.get(referral.person_id)
        return [
            SurveyEntry(
                str(kind),
                engagement_id,
                from_text(at),
                key.open("surveys", "answers", f"{sid}|{referral.id}|{kind}", sealed),
            )
            for sid, kind, engagement_id, at, sealed in rows
        ]

    async def submitted(self, engagement_id: str, kind: str) -> bool:
        """Whether this engagement's survey of this kind was answered already."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT 1 FROM surveys WHERE engagement_id = ? AND kind = ?",
                (engagement_id, kind),
            )
        )
        return bool(rows)

    # -- in progress -----------------------------------------------------------------------

    async def load_state(self, person: Person) -> bytes | None:
        return await self._dialogs.frame(person, "survey")

    async def save_state(
        self, person: Person, state: bytes, now: datetime, screen: int | None = None
    ) -> None:
        """``screen``: the survey shows a new screen of that number (the person's counter)."""
        await self._dialogs.put(person, "survey", state, now, screen=screen)

    async def clear_state(self, person: Person) -> None:
        await self._dialogs.end(person, "survey")

    # -- anonymous counts for reports --------------------------------------------------------

    async def count(self, programme_id: str, question_id: str, answer: str, at: datetime) -> None:
        await self._conn.execute(
            "INSERT INTO feedback_counts (programme_tag, question_id, answer, month, count)"
            " VALUES (?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1",
            (self._lookup.programme(programme_id), question_id, answer, at.strftime("%Y-%m")),
        )

    async def counts(
        self,
        programme_ids: Sequence[str],
        since: date | None = None,
        until: date | None = None,
    ) -> dict[str, dict[str, dict[str, int]]]:
        """programme id -> question id -> answer -> count, over all months, or over the months
        that hold ``since`` to ``until`` (counts are kept per month only)."""
        tags = {self._lookup.programme(p): p for p in programme_ids}
        if not tags:
            return {}
        marks = ", ".join("?" * len(tags))
        first = since.strftime("%Y-%m") if since is not None else "0000-00"
        last = until.strftime("%Y-%m") if until is not None else "9999-99"
        rows = await self._conn.execute_fetchall(
            "SELECT programme_tag, question_id, answer, sum(count) FROM feedback_counts"  # noqa: S608
            f" WHERE programme_tag IN ({marks}) AND month BETWEEN ? AND ?"
            " GROUP BY programme_tag, question_id, answer",
            (*tags, first, last),
        )
        found: dict[str, dict[str, dict[str, int]]] = {}
        for tag, question_id, answer, n in rows:
            programme = tags[bytes(tag)]
            found.setdefault(programme, {}).setdefault(question_id, {})[answer] = int(n)
        return found
