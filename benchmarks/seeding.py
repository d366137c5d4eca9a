"""Databases full of people, written the way the bot writes them, without the bot.

Typing 100,000 intakes through Telegram would take hours, so the benchmarks fill a fresh
database through the storage API (`storage.Store`, the bot's master key), in large
transactions. What goes in is what the bot would have written:

- Drafts are produced by the real form engine (`conversations.intake.Intake`) walking the
  shipped form with a person's answers (`walk_form`), then sealed under each person's data key
  by `uow.drafts.save`, with the privacy consent recorded in their preferences as the bot does
  when someone agrees.
- Referrals are created by `uow.referrals.create` (fresh reference, sealed programme and
  answers, keyed programme tag) with the answers a finished walk of the form produces. Their
  workflow columns (status, holder, claimed/contacted/closed times, urgency) are plain columns
  that coordinators change one UPDATE at a time; here they are set per group in a few UPDATEs.

Not written: outbox rows (every coordinators' notice counts as delivered long ago, so the
delivery worker is idle and does not compete with what is measured), the audit trail and the
funnel counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.i18n import load_catalog
from bot.services import preferences
from conversations import callbacks
from conversations.callbacks import DraftPress
from conversations.draft import Draft
from conversations.forms import Programme, Question, ServiceConfig
from conversations.intake import Intake, Outcome, Typed
from conversations.lifecycle import CLOSED
from conversations.prompts import Button, Prompt
from storage import Person, Store, Unit
from storage.db import to_text
from tests.e2e.harness import HIV_PLAN, SKIP

BATCH = 2_000  # rows per transaction: large enough that commits (fsync) are not the cost

#: Answers to the shipped diabetes form (the HIV one is tests.e2e.harness.HIV_PLAN).
DIABETES_PLAN: dict[str, object] = {
    "name": "Sam",
    "contact_route": "Only through this chat",
    "age_band": "45 to 64",
    "setting": "Either is fine",
    "hope_to_get": "Tips from others like me",
}
PLANS: dict[str, Mapping[str, object]] = {"hiv": HIV_PLAN, "diabetes": DIABETES_PLAN}

#: How seeded referrals are spread over statuses (weights). Closed ones are the bulk of a
#: table that has been in use for a while; the rest are open or have an outcome.
STATUS_WEIGHTS: dict[str, int] = {
    "submitted": 12,
    "claimed": 8,
    "contacted": 8,
    "assessing": 4,
    "deferred": 4,
    "matched": 6,
    "declined": 3,
    "withdrawn": 3,
    CLOSED: 52,
}
URGENT_SHARE = 0.03
SPREAD = timedelta(days=730)  # submissions over the last two years


@dataclass(frozen=True)
class FormWalk:
    """One person's way through a form, as the bot stores it."""

    drafts: list[bytes]  # the stored draft after consent, then after each answer
    answers: bytes  # the referral's answers once the form is sent


def _buttons(prompt: Prompt) -> list[Button]:
    return [b for row in prompt.buttons for b in row]


def _press(prompts: Sequence[Prompt], label: str, *, contains: bool = False) -> DraftPress:
    """The draft button labelled `label` on the newest prompt that has buttons."""
    screen = next(p for p in reversed(prompts) if p.buttons)
    for button in _buttons(screen):
        if button.label == label or (contains and label in button.label):
            found = callbacks.parse(button.data)
            assert isinstance(found, DraftPress), f"{label!r} is not a form button"
            return found
    raise AssertionError(f"no button {label!r} in {[b.label for b in _buttons(screen)]}")


def _first_option(prompts: Sequence[Prompt]) -> DraftPress:
    screen = next(p for p in reversed(prompts) if p.buttons)
    found = callbacks.parse(_buttons(screen)[0].data)
    assert isinstance(found, DraftPress)
    return found


def _answer(
    question: Question, plan: Mapping[str, object], prompts: Sequence[Prompt]
) -> list[DraftPress | Typed]:
    """The events that answer `question` from `plan` (defaults for what the plan leaves out)."""
    value = plan.get(question.id, SKIP if not question.required else None)
    if question.kind == "info":
        return [_press(prompts, "Continue")]
    if value is SKIP:
        skip = "Prefer not to say" if question.skip_label == "prefer_not" else "Skip"
        return [_press(prompts, skip)]
    if question.kind == "multi":
        labels = value if isinstance(value, Sequence) and not isinstance(value, str) else None
        ticks = [_press(prompts, str(v), contains=True) for v in labels] if labels else []
        return [*(ticks or [_first_option(prompts)]), _press(prompts, "Done")]
    if question.kind in ("single", "yesno"):
        return [_press(prompts, str(value)) if value is not None else _first_option(prompts)]
    if question.kind == "number":
        return [Typed(str(value if value is not None else question.minimum or 30))]
    return [Typed(str(value if value is not None else "Seeded answer"))]


def walk_form(
    intake: Intake, programme: Programme, language: str = "en", today: date | None = None
) -> FormWalk:
    """Agree, answer every question of `programme` from its plan, and send the form."""
    today = today or datetime.now(UTC).date()
    plan = PLANS.get(programme.id, {})
    consent = callbacks.parse(callbacks.consent("y", programme.id, language))
    assert isinstance(consent, callbacks.ConsentPress)
    outcome: Outcome | None = intake.consent_press(consent).begin
    assert outcome is not None and outcome.draft is not None
    drafts = [outcome.draft.to_bytes()]
    for _ in range(4 * len(programme.form) + 10):
        draft = outcome.draft
        assert draft is not None, "the form ended before it was sent"
        if draft.phase == "choices":
            events: list[DraftPress | Typed] = [_press(outcome.prompts, "Done")]
        elif draft.phase == "review":
            events = [_press(outcome.prompts, "Send my form")]
        else:
            question = programme.question(draft.current or "")
            assert question is not None, f"no question {draft.current!r}"
            events = _answer(question, plan, outcome.prompts)
        for event in events:
            prompts = outcome.prompts
            outcome = intake.handle(draft, event, today)
            if not outcome.prompts:  # a tick edits the pressed message: same screen, new state
                outcome.prompts = [outcome.replace] if outcome.replace else list(prompts)
            if outcome.submission is not None:
                answers = outcome.submission.answers  # stored as bot.services.intake stores them:
                sent = json.dumps(answers, ensure_ascii=False, sort_keys=True).encode()
                return FormWalk(drafts, sent)
            assert outcome.draft is not None
            draft = outcome.draft
        drafts.append(draft.to_bytes())
    raise AssertionError(f"{programme.id}: no submission after walking the whole form")


def walks(config: ServiceConfig) -> dict[str, FormWalk]:
    """One walk per programme of the config."""
    intake = Intake(config, load_catalog())
    return {p.id: walk_form(intake, p, p.default_language) for p in config.programmes}


def batches(total: int, size: int = BATCH) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


async def in_flight(
    uow: Unit, rows: range, write: Callable[[Unit, int], Awaitable[None]], at_once: int = 64
) -> None:
    """`write(uow, i)` for each row, `at_once` rows at a time, in the caller's transaction.

    A row is a few statements, each a round trip to aiosqlite's thread; with many rows in
    flight the thread always has the next statement queued. Rows must not depend on one
    another (each is a different person)."""
    for chunk in batches(len(rows), at_once):
        await asyncio.gather(*(write(uow, rows[j]) for j in chunk))


def stopping_points(walk: FormWalk) -> list[bytes]:
    """The drafts of a walk that wait for an answer to a question (not choices or review)."""
    return [d for d in walk.drafts if Draft.from_bytes(d).phase == "asking"]


async def seed_drafts(
    store: Store,
    config: ServiceConfig,
    first_id: int,
    people: int,
    now: datetime | None = None,
) -> list[str]:
    """`people` people who agreed and stopped part way through the first programme's form.

    Person i (Telegram id `first_id + i`) stopped at the (i mod k)-th question of the walk.
    Returns the id of the question each one is waiting on, in that order.
    """
    now = now or datetime.now(UTC)
    programme = config.programmes[0]
    stops = stopping_points(walks(config)[programme.id])
    waiting = [Draft.from_bytes(stops[i % len(stops)]).current or "" for i in range(people)]

    async def one(uow: Unit, i: int) -> None:
        person = await uow.people.create(first_id + i, now)
        await _consented(uow, person, programme, now)
        await uow.drafts.save(person, stops[i % len(stops)], now, programme.id)

    for batch in batches(people):
        async with store.unit() as uow:
            await in_flight(uow, batch, one)
    return waiting


async def _consented(uow: Unit, person: Person, programme: Programme, now: datetime) -> None:
    """What the bot records when someone agrees to the privacy notice."""
    prefs = await preferences.load(uow, person)
    prefs.language = programme.default_language
    prefs.record("referral", True, programme.privacy_version, now)
    await preferences.save(uow, person, prefs, now)


@dataclass(frozen=True)
class Seeded:
    """What `seed_referrals` wrote: counts per (programme, status), and who holds what."""

    counts: dict[tuple[str, str], int]
    held: dict[int, int]  # coordinator's Telegram id -> referrals they hold (any status)
    urgent: int
    seconds: float


def plan_referrals(
    total: int, programmes: Sequence[tuple[str, float]], seed: int = 7
) -> list[tuple[str, str, bool, int]]:
    """(programme, status, urgent, seconds before now) for each referral, reproducibly."""
    rng = random.Random(seed)
    names, weights = zip(*programmes, strict=True)
    statuses, status_weights = zip(*STATUS_WEIGHTS.items(), strict=True)
    span = int(SPREAD.total_seconds())
    return [
        (
            rng.choices(names, weights)[0],
            rng.choices(statuses, status_weights)[0],
            rng.random() < URGENT_SHARE,
            rng.randrange(span),
        )
        for _ in range(total)
    ]


async def seed_referrals(
    store: Store,
    database: Path,
    config: ServiceConfig,
    first_id: int,
    total: int,
    holders: Mapping[str, Sequence[int]],
    shares: Sequence[tuple[str, float]] = (("hiv", 0.7), ("diabetes", 0.3)),
    now: datetime | None = None,
) -> Seeded:
    """`total` referrals by as many people, spread over programmes, statuses and two years.

    Every referral that is not "submitted" is held by one of the programme's `holders`
    (Telegram ids of its coordinators), who are created as people first. `database` is the
    store's file: the workflow columns are set there, beside the open store, at the end.
    """
    started = time.monotonic()
    now = now or datetime.now(UTC)
    forms = walks(config)
    planned = plan_referrals(total, shares)
    async with store.unit() as uow:
        coordinators = {
            tid: await uow.people.find(tid) or await uow.people.create(tid, now)
            for tids in holders.values()
            for tid in tids
        }
    ids: dict[tuple[str, str, bool], list[str]] = {}

    async def one(uow: Unit, i: int) -> None:
        programme_id, status, urgent, age = planned[i]
        programme = config.programme(programme_id)
        assert programme is not None
        at = now - timedelta(seconds=age)
        person = await uow.people.create(first_id + i, at)
        referral = await uow.referrals.create(
            person, programme_id, forms[programme_id].answers, urgent=urgent, now=at
        )
        await _consented(uow, person, programme, at)
        ids.setdefault((programme_id, status, urgent), []).append(referral.id)

    for batch in batches(total):
        async with store.unit() as uow:
            await in_flight(uow, batch, one)
    held: dict[int, int] = dict.fromkeys(coordinators, 0)
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db, db:
        for (programme_id, status, _urgent), referral_ids in ids.items():
            if status == "submitted":
                continue
            candidates = list(holders.get(programme_id, ()))
            for n, tid in enumerate(candidates):
                share = referral_ids[n :: len(candidates)]
                held[tid] += len(share)
                set_workflow(db, share, status, coordinators[tid].id, now)
    counts: dict[tuple[str, str], int] = {}
    for (programme_id, status, _urgent), referral_ids in ids.items():
        counts[programme_id, status] = counts.get((programme_id, status), 0) + len(referral_ids)
    urgent = sum(len(r) for (_p, _s, u), r in ids.items() if u)
    return Seeded(counts, held, urgent, time.monotonic() - started)


def set_workflow(
    db: sqlite3.Connection, referral_ids: Sequence[str], status: str, holder_id: str, now: datetime
) -> None:
    """What claim, set_status and mark leave in the plain workflow columns, for many referrals
    in one statement (the repository changes them one referral at a time)."""
    contacted = status != "claimed"  # every later status was contacted first
    stamp = to_text(now)
    db.executemany(
        "UPDATE referrals SET status = ?, holder_id = ?, claimed_at = submitted_at,"
        " contacted_at = CASE WHEN ? THEN submitted_at END,"
        " closed_at = CASE WHEN ? THEN ? END, updated_at = ? WHERE id = ?",
        [
            (status, holder_id, int(contacted), int(status == CLOSED), stamp, stamp, ref_id)
            for ref_id in referral_ids
        ],
    )
