"""Retention: erase what a programme no longer keeps, the way /delete does.

Expired are drafts (the dialog stacks that hold a referral form: a stack is one row, and goes
whole) last changed before their programme's cut-off, and closed referrals closed
before theirs (the thread and outbox rows of a referral go with it, by cascade), unless its
person still holds a place in a group through it (`_HELD_IN_A_GROUP`). A person left
with nothing (no draft, no referral, no role, not holding anyone's referral, no staff state, no
referral they made for someone else still kept) is erased entirely, which destroys their data
key; otherwise only their expired rows are deleted. A professional is looked at when a referral
they made goes.
``secure_delete`` zeroes the freed bytes and the store truncates the WAL after the commit.

Programmes are matched by keyed tag. Rows of a programme missing from the given cut-offs (for
example removed from the config) get the latest cut-off, i.e. the shortest retention. A draft
with no tag (the saver did not give the programme) is opened only once it is older than the
shortest retention, and these are the only drafts the purge ever opens: it reads the programme,
deletes the draft if expired, and otherwise records the tag so it is not opened again until it
changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from conversations.dialogs import FORMS, DialogState
from storage.crypto import LookupKeys
from storage.db import to_text
from storage.keys import DataKeys
from storage.people import PeopleRepo

#: Reads the programme id out of a draft's opened state (None: cannot tell).
DraftProgramme = Callable[[bytes], str | None]

#: A closed referral through which its person holds a live place in a group that still meets
#: (invited, asked, a member or waiting) is kept, however old: the group's messages, reminders
#: and waiting list go by that referral, and without it the place would go silent. It expires
#: at the first purge after the place ends or the group closes.
_HELD_IN_A_GROUP = (
    "EXISTS (SELECT 1 FROM group_places p JOIN groups g ON g.id = p.group_id"
    " WHERE p.referral_id = referrals.id"
    " AND p.status IN ('invited', 'asked', 'member', 'waiting') AND g.status != 'closed')"
)

_HOLDS_SOMETHING = (
    "SELECT EXISTS (SELECT 1 FROM dialogs WHERE person_id = :p)"
    " OR EXISTS (SELECT 1 FROM referrals WHERE person_id = :p)"
    " OR EXISTS (SELECT 1 FROM referrals WHERE holder_id = :p)"
    " OR EXISTS (SELECT 1 FROM roles WHERE person_id = :p)"
    " OR EXISTS (SELECT 1 FROM referrers WHERE referrer_id = :p)"
)


@dataclass(frozen=True)
class Purged:
    """How many of each were erased: counts only, never who."""

    drafts: int = 0
    referrals: int = 0
    people: int = 0
    more: bool = False  # a batch limit was reached: call again for the rest
    leftovers: int = 0  # people erased before a restore whose rows came back (Store.leftovers)
    #: groups where an erased person held a place (invited or member): to offer it on, in the
    #: same transaction (group ids only, never who)
    freed_groups: tuple[str, ...] = ()

    def detail(self) -> str:
        counts = f"drafts={self.drafts} referrals={self.referrals} people={self.people}"
        return f"{counts} leftovers={self.leftovers}" if self.leftovers else counts


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class RetentionRepo:
    def __init__(
        self,
        conn: aiosqlite.Connection,
        keys: DataKeys,
        lookup: LookupKeys,
        people: PeopleRepo,
        scrub: list[str],
    ) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup
        self._people = people
        self._scrub = scrub
        self._limit = 200
        self._more = False

    async def _referrers(self, referral_ids: list[str]) -> set[str]:
        """Who made these referrals for someone else (migration 0013): a professional is left
        with nothing once the last referral they made goes."""
        found: set[str] = set()
        for referral_id in referral_ids:
            rows = await self._conn.execute_fetchall(
                "SELECT referrer_id FROM referrers WHERE referral_id = ?", (referral_id,)
            )
            found |= {str(r[0]) for r in rows}
        return found

    async def purge(
        self,
        *,
        drafts_before: Mapping[str, datetime],
        closed_before: Mapping[str, datetime],
        draft_programme: DraftProgramme,
        limit: int = 200,
    ) -> Purged:
        """Erase expired drafts and closed referrals (cut-offs per programme id).

        Each query takes at most ``limit`` rows, so one call (one transaction) stays short;
        ``more`` says whether to call again.
        """
        self._limit, self._more = limit, False
        referrals = await self._expired_referrals(closed_before)
        drafts = await self._expired_drafts(drafts_before, draft_programme)
        referrers = await self._referrers([ref_id for ref_id, _ in referrals])
        await self._conn.executemany(
            "DELETE FROM referrals WHERE id = ?", [(ref_id,) for ref_id, _ in referrals]
        )
        await self._conn.executemany(
            "DELETE FROM dialogs WHERE person_id = ? AND form = 1", [(p,) for p in drafts]
        )
        erased = 0
        freed: list[str] = []
        for person_id in sorted({p for _, p in referrals} | set(drafts) | referrers):
            rows = await self._conn.execute_fetchall(_HOLDS_SOMETHING, {"p": person_id})
            person = await self._people.get(person_id)
            if next(iter(rows))[0] or person is None:
                self._scrub.append(person_id)
                continue
            held = await self._conn.execute_fetchall(
                "SELECT group_id FROM group_places"
                " WHERE person_id = ? AND status IN ('invited', 'member')",
                (person_id,),
            )
            freed += [str(r[0]) for r in held if str(r[0]) not in freed]
            await self._people.erase(person)
            erased += 1
        return Purged(len(drafts), len(referrals), erased, self._more, freed_groups=tuple(freed))

    async def _rows(self, sql: str, params: tuple[object, ...]) -> list[Any]:
        rows = list(await self._conn.execute_fetchall(f"{sql} LIMIT ?", (*params, self._limit)))
        self._more = self._more or len(rows) >= self._limit
        return rows

    async def _expired_referrals(self, cutoffs: Mapping[str, datetime]) -> list[tuple[str, str]]:
        """Closed referrals past their programme's cut-off (a programme no longer configured:
        the shortest period), each programme's through the `referrals_closed` index."""
        if not cutoffs:
            return []
        found: list[tuple[str, str]] = []
        by_tag = {self._lookup.programme(p): before for p, before in cutoffs.items()}
        shortest = max(cutoffs.values())
        for tag in await self._closed_tags():
            rows = await self._rows(
                "SELECT id, person_id FROM referrals INDEXED BY referrals_closed"  # noqa: S608
                " WHERE programme_tag = ? AND status = 'closed'"
                f" AND coalesce(closed_at, updated_at) < ? AND NOT {_HELD_IN_A_GROUP}",
                (tag, to_text(by_tag.get(tag, shortest))),
            )
            found.extend((r[0], r[1]) for r in rows)
        return found

    async def _closed_tags(self) -> list[bytes]:
        """The programme tags that have closed referrals: one seek in `referrals_closed` each.
        (A query for the tags not configured, `NOT IN`, read every closed referral through
        another index: 166 ms with 52,000 of them, on the loop's thread, every day.)"""
        tags: list[bytes] = []
        while True:
            rows = await self._conn.execute_fetchall(
                "SELECT min(programme_tag) FROM referrals INDEXED BY referrals_closed"
                " WHERE status = 'closed' AND programme_tag > ?",
                (tags[-1] if tags else b"",),
            )
            tag = next(iter(rows))[0]
            if tag is None:
                return tags
            tags.append(bytes(tag))

    async def _expired_drafts(
        self, cutoffs: Mapping[str, datetime], draft_programme: DraftProgramme
    ) -> list[str]:
        if not cutoffs:
            return []
        found: list[str] = []
        by_tag = {self._lookup.programme(p): before for p, before in cutoffs.items()}
        for tag, before in by_tag.items():
            rows = await self._rows(
                "SELECT person_id FROM dialogs"
                " WHERE form = 1 AND programme_tag = ? AND updated_at < ?",
                (tag, to_text(before)),
            )
            found.extend(r[0] for r in rows)
        shortest = max(cutoffs.values())
        rows = await self._rows(
            "SELECT person_id FROM dialogs WHERE form = 1 AND updated_at < ?"  # noqa: S608
            " AND programme_tag IS NOT NULL"
            f" AND programme_tag NOT IN ({_marks(len(by_tag))})",
            (to_text(shortest), *by_tag),
        )
        found.extend(r[0] for r in rows)  # a programme no longer configured: the shortest period
        rows = await self._rows(
            "SELECT person_id, state, updated_at FROM dialogs"
            " WHERE form = 1 AND updated_at < ? AND programme_tag IS NULL",
            (to_text(shortest),),
        )
        for person_id, state, updated_at in rows:
            programme_id = await self._programme_of(person_id, state, draft_programme)
            before = cutoffs.get(programme_id or "", shortest)
            if programme_id is None or updated_at < to_text(before):
                found.append(person_id)
            else:
                await self._conn.execute(
                    "UPDATE dialogs SET programme_tag = ? WHERE person_id = ?",
                    (self._lookup.programme(programme_id), person_id),
                )
        return found

    async def _programme_of(
        self, person_id: str, state: bytes, draft_programme: DraftProgramme
    ) -> str | None:
        """The draft's programme; None if it cannot be read (then it is expired: unusable)."""
        try:
            key = await self._keys.get(person_id)
            stack = DialogState.from_bytes(key.open("dialogs", "state", person_id, state))
            frame = next(f for f in stack.frames if f.dialog in FORMS)
            return draft_programme(frame.data.encode())
        except Exception:  # no key, does not open, or malformed: unusable either way
            return None


def cutoffs(days: Mapping[str, int], now: datetime) -> dict[str, datetime]:
    """Per-programme cut-off times from retention periods in days."""
    return {programme: now - timedelta(days=d) for programme, d in days.items()}
