"""Referrals: plain workflow columns (status, urgency, holder, times), sealed content."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, Final

import aiosqlite

from storage.crypto import LookupKeys
from storage.db import from_text, maybe_time, to_text
from storage.errors import StorageError
from storage.keys import DataKeys
from storage.models import Person, Referral

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "PD-"
REFERENCE_LENGTH = 6
CLOSED = "closed"
#: A person has at most one referral in these statuses (the unique index of migration 0009):
#: waiting, being worked on, or in support. Deferred, declined and withdrawn are outcomes a
#: person may come back from with a new form; closed is over.
LIVE: Final = ("submitted", "claimed", "contacted", "assessing", "matched")
_ATTEMPTS = 20
_COLUMNS = (
    "id, reference, person_id, status, urgent, submitted_at, updated_at, holder_id,"
    " claimed_at, contacted_at, verified_at, closed_at, verified_by, group_message_id, route"
)
#: How a referral came: the person themselves; more come with referrals on someone's behalf.
ROUTES: tuple[str, ...] = ("self", "professional", "staff")
# Characters people mistype for Crockford digits.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET
"""Default of ``ReferralRepo.mark``'s arguments: "leave this field as it is"."""


def new_reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(CROCKFORD) for _ in range(REFERENCE_LENGTH))


def normalise_reference(text: str) -> str:
    """Upper-case, trimmed, with O/I/L read as 0/1 (Crockford's rule)."""
    text = text.strip().upper()
    body = text.removeprefix(REFERENCE_PREFIX)
    return REFERENCE_PREFIX + body.translate(_CONFUSABLE)


def _referral(row: Sequence[Any]) -> Referral:
    (ref_id, reference, person_id, status, urgent, submitted_at, updated_at, holder_id) = row[:8]
    claimed_at, contacted_at, verified_at, closed_at, verified_by, group_message_id = row[8:14]
    return Referral(
        ref_id,
        reference,
        person_id,
        status,
        bool(urgent),
        from_text(submitted_at),
        from_text(updated_at),
        holder_id=holder_id,
        claimed_at=maybe_time(claimed_at),
        contacted_at=maybe_time(contacted_at),
        verified_at=maybe_time(verified_at),
        closed_at=maybe_time(closed_at),
        verified_by=verified_by,
        group_message_id=group_message_id,
        route=row[14],
    )


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


class AlreadyLive(StorageError):
    """A second live referral for one person: the database refuses it (migration 0009)."""


class ReferralRepo:
    def __init__(
        self,
        conn: aiosqlite.Connection,
        keys: DataKeys,
        lookup: LookupKeys,
        scrub: list[str] | None = None,
    ) -> None:
        self._conn = conn
        self._keys = keys
        self._lookup = lookup
        self._scrub = scrub if scrub is not None else []

    async def create(
        self,
        person: Person,
        programme_id: str,
        answers: bytes,
        urgent: bool,
        now: datetime,
        *,
        source: str | None = None,
        route: str = "self",
    ) -> Referral:
        """Store a submitted referral under a fresh, unique reference code.

        ``source``: the configured source of the link the person came by, sealed, with a keyed
        tag for counting (never in plaintext). ``route``: one of ROUTES."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}")
        key = await self._keys.get(person.id)
        ref_id = secrets.token_hex(16)
        stamp = to_text(now)
        values = (
            ref_id,
            person.id,
            self._lookup.programme(programme_id),
            key.seal("referrals", "programme_id", ref_id, programme_id.encode()),
            key.seal("referrals", "answers", ref_id, answers),
            "submitted",
            int(urgent),
            stamp,
            stamp,
            route,
            None if source is None else key.seal("referrals", "source", ref_id, source.encode()),
            None if source is None else self._lookup.source(programme_id, source),
        )
        for _ in range(_ATTEMPTS):
            reference = new_reference()
            try:
                await self._conn.execute(
                    "INSERT INTO referrals (id, reference, person_id, programme_tag,"
                    " programme_id, answers, status, urgent, submitted_at, updated_at,"
                    " route, source, source_tag)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (values[0], reference, *values[1:]),
                )
            except sqlite3.IntegrityError as e:
                if "referrals.reference" in str(e):
                    continue  # collision on the short code: draw again
                if "referrals.person_id" in str(e):
                    raise AlreadyLive("this person already has a live referral") from e
                raise
            at = from_text(stamp)
            return Referral(ref_id, reference, person.id, "submitted", urgent, at, at, route=route)
        raise RuntimeError(f"no free reference code after {_ATTEMPTS} attempts")

    async def get(self, referral_id: str) -> Referral | None:
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM referrals WHERE id = ?",  # noqa: S608
                (referral_id,),
            )
        )
        return _referral(rows[0]) if rows else None

    async def for_person(self, person: Person) -> list[Referral]:
        """The person's referrals, newest first."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM referrals WHERE person_id = ?"  # noqa: S608
            " ORDER BY submitted_at DESC, rowid DESC",
            (person.id,),
        )
        return [_referral(row) for row in rows]

    async def live(self, person: Person) -> Referral | None:
        """The person's one live referral (see LIVE), if any."""
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM referrals WHERE person_id = ?"  # noqa: S608
                f" AND status IN ({', '.join('?' * len(LIVE))})",
                (person.id, *LIVE),
            )
        )
        return _referral(rows[0]) if rows else None

    async def held(self, holder: Person, programme_id: str) -> list[Referral]:
        """What ``holder`` holds in one programme and is not closed, in queue order."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM referrals WHERE holder_id = ?"  # noqa: S608
            " AND programme_tag = ? AND status != 'closed' ORDER BY urgent DESC, submitted_at",
            (holder.id, self._lookup.programme(programme_id)),
        )
        return [_referral(row) for row in rows]

    async def holds(self, candidates: Sequence[str]) -> list[tuple[str, str]]:
        """(holder id, programme id) of every open hold, for the programmes in ``candidates``."""
        tags = {self._lookup.programme(p): p for p in candidates}
        rows = await self._conn.execute_fetchall(
            "SELECT DISTINCT holder_id, programme_tag FROM referrals"
            " WHERE holder_id IS NOT NULL AND status != 'closed'"
        )
        return [(str(h), tags[bytes(t)]) for h, t in rows if bytes(t) in tags]

    async def by_reference(self, reference: str) -> Referral | None:
        """Find by reference code, ignoring case (and O/I/L typed for 0/1)."""
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM referrals WHERE reference = ?",  # noqa: S608
                (normalise_reference(reference),),
            )
        )
        return _referral(rows[0]) if rows else None

    # --- made on someone's behalf (migration 0013) ---------------------------------------

    async def add_referrer(
        self,
        referral: Referral,
        referrer: Person,
        details: bytes,
        *,
        updates: bool = False,
        questionnaire: str | None = None,
    ) -> None:
        """Who made ``referral`` for the person (a professional, or the coordinator who took it
        by phone): ``details`` sealed under the REFERRER's key, apart from the person's answers.
        ``updates``: they get the two discreet updates (received, contact made).
        ``questionnaire``: which of the programme's questionnaires the answers follow."""
        key = await self._keys.get(referrer.id)
        await self._conn.execute(
            "INSERT INTO referrers (referral_id, referrer_id, details, updates, questionnaire)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                referral.id,
                referrer.id,
                key.seal("referrers", "details", referral.id, details),
                int(updates),
                questionnaire,
            ),
        )

    async def questionnaire(self, referral: Referral) -> str | None:
        """The programme's questionnaire its answers follow (None: the programme's form)."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT questionnaire FROM referrers WHERE referral_id = ?", (referral.id,)
            )
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    async def referrer(self, referral: Referral) -> tuple[str, bytes] | None:
        """(referrer's person id, their details opened) if someone made it on the person's
        behalf and is still known."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT referrer_id, details FROM referrers WHERE referral_id = ?", (referral.id,)
            )
        )
        if not rows:
            return None
        referrer_id, sealed = str(rows[0][0]), bytes(rows[0][1])
        key = await self._keys.get(referrer_id)
        return referrer_id, key.open("referrers", "details", referral.id, sealed)

    async def update_due(self, referral: Referral, update: str) -> str | None:
        """The referrer to tell ``update`` ("received" or "contacted"), once: their person id,
        and the update is marked as told. None when they did not ask, or were told already."""
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT referrer_id, told FROM referrers WHERE referral_id = ? AND updates = 1",
                (referral.id,),
            )
        )
        if not rows or update in str(rows[0][1]).split(","):
            return None
        told = ",".join(t for t in (*str(rows[0][1]).split(","), update) if t)
        await self._conn.execute(
            "UPDATE referrers SET told = ? WHERE referral_id = ?", (told, referral.id)
        )
        return str(rows[0][0])

    async def stop_updates(self, referral: Referral, referrer: Person) -> bool:
        """The professional who made ``referral`` wants no more updates about it; True only
        the first time (a second press changes nothing)."""
        async with self._conn.execute(
            "UPDATE referrers SET updates = 0"
            " WHERE referral_id = ? AND referrer_id = ? AND updates = 1",
            (referral.id, referrer.id),
        ) as cursor:
            return cursor.rowcount == 1

    async def made_by(self, referrer: Person) -> list[Referral]:
        """The referrals ``referrer`` made for others, newest first (for their /mydata)."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join('r.' + c.strip() for c in _COLUMNS.split(','))}"  # noqa: S608
            " FROM referrals r JOIN referrers x ON x.referral_id = r.id"
            " WHERE x.referrer_id = ? ORDER BY r.submitted_at DESC",
            (referrer.id,),
        )
        return [_referral(row) for row in rows]

    # --- anonymous answer counts for reports (migration 0013) -----------------------------

    async def count_answer(
        self, programme_id: str, question_id: str, answer: str, at: datetime
    ) -> None:
        """Count one answer to a question marked ``report = true`` (no person, no referral)."""
        await self._conn.execute(
            "INSERT INTO answer_counts (programme_tag, question_id, answer, month, count)"
            " VALUES (?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1",
            (self._lookup.programme(programme_id), question_id, answer, at.strftime("%Y-%m")),
        )

    async def answer_counts(
        self, programme_ids: Sequence[str], since: date | None = None, until: date | None = None
    ) -> dict[str, dict[str, dict[str, int]]]:
        """programme id -> question id -> answer -> count, over the months that hold ``since``
        to ``until`` (all months by default)."""
        tags = {self._lookup.programme(p): p for p in programme_ids}
        if not tags:
            return {}
        first = since.strftime("%Y-%m") if since is not None else "0000-00"
        last = until.strftime("%Y-%m") if until is not None else "9999-99"
        rows = await self._conn.execute_fetchall(
            "SELECT programme_tag, question_id, answer, sum(count) FROM answer_counts"  # noqa: S608
            f" WHERE programme_tag IN ({_placeholders(len(tags))}) AND month BETWEEN ? AND ?"
            " GROUP BY programme_tag, question_id, answer",
            (*tags, first, last),
        )
        found: dict[str, dict[str, dict[str, int]]] = {}
        for tag, question_id, answer, n in rows:
            programme = tags[bytes(tag)]
            found.setdefault(programme, {}).setdefault(str(question_id), {})[str(answer)] = int(n)
        return found

    # --- the coordinator queue -------------------------------------------------------------

    def queue_query(
        self,
        programme_ids: Sequence[str] | None,
        statuses: Sequence[str],
        *,
        holder: Person | None = None,
        unclaimed_only: bool = False,
        select: str = _COLUMNS,
    ) -> tuple[str, list[object]]:
        """The WHERE of the queue (and of ``count``): SQL text and parameters.

        Public so tests can EXPLAIN exactly what runs. ``programme_ids=None``: every programme.
        When no closed status is asked for, ``status != 'closed'`` is added literally: SQLite
        uses the partial index ``referrals_open_queue`` only if the query implies its WHERE.
        """
        sql = f"SELECT {select} FROM referrals WHERE "  # noqa: S608 - fixed column names
        terms: list[str] = []
        params: list[object] = []
        if programme_ids is not None:
            terms.append(f"programme_tag IN ({_placeholders(len(programme_ids))})")
            params.extend(self._lookup.programme(p) for p in programme_ids)
        terms.append(f"status IN ({_placeholders(len(statuses))})")
        params.extend(statuses)
        if CLOSED not in statuses:
            terms.append(f"status != '{CLOSED}'")
        if holder is not None:
            terms.append("holder_id = ?")
            params.append(holder.id)
        if unclaimed_only:
            terms.append("holder_id IS NULL")
        return sql + " AND ".join(terms), params

    async def queue(
        self,
        programme_ids: Sequence[str] | None = None,
        statuses: Sequence[str] = ("submitted",),
        *,
        holder: Person | None = None,
        unclaimed_only: bool = False,
        limit: int = 10,
        offset: int = 0,
        programme_id: str | None = None,
    ) -> list[Referral]:
        """Referrals of these programmes in these statuses: urgent first, then oldest.

        ``programme_ids=None`` means every programme; an empty list matches nothing.
        ``holder``: only those this coordinator holds; ``unclaimed_only``: only those nobody
        holds. Programmes are matched by keyed tag, never plaintext.

        Compatibility with the pre-0002 form ``queue(status, programme_id=..., limit=...)``: a
        bare string as the first argument is read as one status, and ``programme_id`` as a
        one-programme list. (A bare string is never a valid list of programme ids.)
        """
        programme_ids, statuses = _legacy(programme_ids, statuses, programme_id)
        if (programme_ids is not None and not programme_ids) or not statuses:
            return []
        sql, params = self.queue_query(
            programme_ids, statuses, holder=holder, unclaimed_only=unclaimed_only
        )
        sql += " ORDER BY urgent DESC, submitted_at, rowid LIMIT ? OFFSET ?"
        params.extend((limit, offset))
        return [_referral(row) for row in await self._conn.execute_fetchall(sql, params)]

    async def count(
        self,
        programme_ids: Sequence[str] | None,
        statuses: Sequence[str],
        *,
        holder: Person | None = None,
        unclaimed_only: bool = False,
    ) -> int:
        """How many referrals ``queue`` would page through."""
        if (programme_ids is not None and not programme_ids) or not statuses:
            return 0
        sql, params = self.queue_query(
            programme_ids, statuses, holder=holder, unclaimed_only=unclaimed_only,
            select="count(*)",
        )  # fmt: skip
        rows = await self._conn.execute_fetchall(sql, params)
        return int(next(iter(rows))[0])

    # --- workflow ---------------------------------------------------------------------------

    async def claim(
        self, referral: Referral, holder: Person, now: datetime, *, take_over: bool = False
    ) -> bool:
        """Make ``holder`` the holder, in one UPDATE; True only for the call that won.

        Succeeds if nobody holds it (or, with ``take_over``, whoever does) and it is not
        closed. Sets ``claimed_at`` on the first claim, and "submitted" becomes "claimed".
        """
        stamp = to_text(now)
        rows = await self._conn.execute_fetchall(
            "UPDATE referrals SET holder_id = ?, claimed_at = coalesce(claimed_at, ?),"
            " status = CASE WHEN status = 'submitted' THEN 'claimed' ELSE status END,"
            " updated_at = ?"
            " WHERE id = ? AND status != 'closed' AND (holder_id IS NULL OR ?)"
            " RETURNING id",
            (holder.id, stamp, stamp, referral.id, int(take_over)),
        )
        return bool(list(rows))

    async def unassign(self, referral: Referral, now: datetime) -> Referral:
        """Nobody holds it any more; "claimed" goes back to "submitted" (others stay)."""
        await self._conn.execute(
            "UPDATE referrals SET holder_id = NULL,"
            " status = CASE WHEN status = 'claimed' THEN 'submitted' ELSE status END,"
            " updated_at = ? WHERE id = ?",
            (to_text(now), referral.id),
        )
        return await self._reread(referral)

    async def set_status(self, referral: Referral, status: str, now: datetime) -> Referral:
        """Move a referral to ``status``; returns the updated record."""
        await self._conn.execute(
            "UPDATE referrals SET status = ?, updated_at = ? WHERE id = ?",
            (status, to_text(now), referral.id),
        )
        return await self._reread(referral)

    async def mark(
        self,
        referral: Referral,
        *,
        contacted_at: datetime | _Unset | None = UNSET,
        verified_at: datetime | _Unset | None = UNSET,
        verified_by: str | _Unset | None = UNSET,
        closed_at: datetime | _Unset | None = UNSET,
        group_message_id: int | _Unset | None = UNSET,
    ) -> Referral:
        """Set only the fields given (None clears one); ``updated_at`` is left alone."""
        given: dict[str, object] = {}
        for name, value in (
            ("contacted_at", contacted_at),
            ("verified_at", verified_at),
            ("closed_at", closed_at),
        ):
            if not isinstance(value, _Unset):
                given[name] = None if value is None else to_text(value)
        if not isinstance(verified_by, _Unset):
            given["verified_by"] = verified_by
        if not isinstance(group_message_id, _Unset):
            given["group_message_id"] = group_message_id
        if given:
            assignments = ", ".join(f"{name} = ?" for name in given)
            await self._conn.execute(
                f"UPDATE referrals SET {assignments} WHERE id = ?",  # noqa: S608 - fixed names
                (*given.values(), referral.id),
            )
        return await self._reread(referral)

    async def set_urgent(self, referral: Referral, urgent: bool, now: datetime) -> Referral:
        await self._conn.execute(
            "UPDATE referrals SET urgent = ?, updated_at = ? WHERE id = ?",
            (int(urgent), to_text(now), referral.id),
        )
        return await self._reread(referral)

    # --- sealed content ---------------------------------------------------------------------

    async def answers(self, referral: Referral) -> bytes:
        return await self._open(referral, "answers")

    async def programme_id(self, referral: Referral) -> str:
        return (await self._open(referral, "programme_id")).decode()

    async def source(self, referral: Referral) -> str | None:
        """The source of the link the person came by (an id from the config), if any."""
        value = await self._open_optional(referral, "source")
        return None if value is None else value.decode()

    async def sources(
        self, programme_id: str, source_ids: Sequence[str], referrals: Sequence[Referral]
    ) -> dict[str, str | None]:
        """Referral id -> its source among ``source_ids`` (None: none, or one no longer
        configured), matched by keyed tag: nothing is opened. For the report."""
        by_tag = {self._lookup.source(programme_id, s): s for s in source_ids}
        found: dict[str, str | None] = {}
        ids = [r.id for r in referrals]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._conn.execute_fetchall(
                "SELECT id, source_tag FROM referrals"  # noqa: S608 - placeholders only
                f" WHERE id IN ({_placeholders(len(chunk))})",
                chunk,
            )
            for ref_id, tag in rows:
                found[str(ref_id)] = None if tag is None else by_tag.get(bytes(tag))
        return found

    async def replace_answers(self, referral: Referral, answers: bytes, now: datetime) -> None:
        """Re-seal the answers (e.g. with verification answers erased for good).

        The row is rewritten in place (``secure_delete`` zeroes the old cell) and, after the
        commit, the store checkpoints and truncates the WAL, so the old ciphertext is in
        neither the database file nor the WAL. (Copies made before are out of reach.)
        """
        await self._seal(referral, "answers", answers, now)
        self._scrub.append(referral.id)

    async def set_outcome(self, referral: Referral, outcome: bytes, now: datetime) -> None:
        """Sealed, opaque: e.g. which signposting resources or supporter were chosen."""
        await self._seal(referral, "outcome", outcome, now)

    async def outcome(self, referral: Referral) -> bytes | None:
        return await self._open_optional(referral, "outcome")

    async def _seal(self, referral: Referral, column: str, value: bytes, now: datetime) -> None:
        key = await self._keys.get(referral.person_id)
        async with self._conn.execute(
            f"UPDATE referrals SET {column} = ?, updated_at = ? WHERE id = ?",  # noqa: S608
            (key.seal("referrals", column, referral.id, value), to_text(now), referral.id),
        ) as cursor:
            if cursor.rowcount != 1:
                raise ValueError("no such referral")

    async def _open(self, referral: Referral, column: str) -> bytes:
        value = await self._open_optional(referral, column)
        if value is None:
            raise ValueError(f"referral has no {column}")
        return value

    async def _open_optional(self, referral: Referral, column: str) -> bytes | None:
        key = await self._keys.get(referral.person_id)
        rows = list(
            await self._conn.execute_fetchall(
                f"SELECT {column} FROM referrals WHERE id = ?",  # noqa: S608 - fixed names
                (referral.id,),
            )
        )
        if not rows:
            raise ValueError("no such referral")
        sealed = rows[0][0]
        return None if sealed is None else key.open("referrals", column, referral.id, sealed)

    async def _reread(self, referral: Referral) -> Referral:
        fresh = await self.get(referral.id)
        if fresh is None:
            raise ValueError("no such referral")
        return fresh


def _legacy(
    programme_ids: Sequence[str] | None, statuses: Sequence[str], programme_id: str | None
) -> tuple[Sequence[str] | None, Sequence[str]]:
    if isinstance(programme_ids, str):
        statuses = (programme_ids,)
        programme_ids = None
    if programme_id is not None:
        if programme_ids is not None:
            raise TypeError("give programme_ids or programme_id, not both")
        programme_ids = (programme_id,)
    if isinstance(statuses, str):
        statuses = (statuses,)
    return programme_ids, statuses
