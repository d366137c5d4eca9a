"""Shared helpers for the resilience tests: a person who carries on through crashes and lost
replies, what the store holds about them, seeded Telegram faults, and a database lock held by
another process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.telegram.app import Runtime
from conversations.draft import Draft
from conversations.forms import Programme, Question
from sandbox.emulator import BotApiEmulator, Call, Fault, ScriptedUser, StoredMessage
from sandbox.emulator.chatview import transcript
from storage import Store
from tests.e2e.harness import REFERENCE, SKIP, Plan, asked

#: What the bot says when a step failed on its side (screens.went_wrong, English).
WENT_WRONG = "something went wrong on our side"

#: Positions of the screens of an intake beyond the questions (see `position`).
CHOICES_STEP, REVIEW_STEP, DONE_STEP = 10_000, 10_001, 10_002


# -- what a person sees -------------------------------------------------------------------------


def option_id(programme: Programme, question: Question, label: str, language: str = "en") -> str:
    for option in question.options or []:
        if programme.text(option.label, language) == label:
            return option.id
    raise AssertionError(f"{question.id}: no option labelled {label!r}")


def expected_answer(programme: Programme, question: Question, value: object) -> object:
    """An answer from a plan (button labels, typed text, SKIP) as the draft stores it."""
    if value is SKIP:
        return None
    if question.kind == "multi":
        assert isinstance(value, list | tuple)
        return [option_id(programme, question, str(label)) for label in value]
    if question.kind == "single":
        return option_id(programme, question, str(value))
    if question.kind == "yesno":
        return "yes" if str(value).lower().startswith("y") else "no"
    return value


def position(programme: Programme, message: StoredMessage) -> int | None:
    """How far through the intake a bot message shows the person: the index of the question it
    asks, then the choices step, the review, and a sent form (its reference)."""
    text = message.text or ""
    if REFERENCE.search(text):
        return DONE_STEP
    if text.startswith("Please check your answers"):
        return REVIEW_STEP
    if text.startswith("A few choices"):
        return CHOICES_STEP
    if text.startswith(("Question ", "Good to know")):
        question = asked(programme, message, "en")
        return None if question is None else programme.form.index(question)
    return None


def reached(programme: Programme, person: ScriptedUser) -> int:
    """The furthest screen the bot ever showed this person (-1: none), earlier texts of a
    message edited into the next screen included."""
    found = [
        position(programme, dataclasses.replace(m, text=text))
        for m in person.chat.sent_by_bot
        for text in (m.text, *m.edits)
    ]
    return max((p for p in found if p is not None), default=-1)


def full_transcript(person: ScriptedUser) -> str:
    """The whole chat, for failure messages."""
    return transcript(person.world, person.chat, limit=1000)


def _data(message: StoredMessage) -> list[str]:
    return [b.data or "" for row in message.buttons for b in row]


@dataclass
class Intake:
    """One person filling in the HIV form the way a real person would through trouble: they
    act on the newest screen, and when nothing comes back (a crash, a lost reply, "something
    went wrong") they wait a moment and send /start again to see where they are ("tap again").

    `answered` records what they gave for each question; `retries` how often they had to ask
    again."""

    person: ScriptedUser
    programme: Programme
    plan: Plan
    bot_up: asyncio.Event
    patience: float = 3.0
    answered: dict[str, object] = field(default_factory=dict)
    reference: str | None = None
    retries: int = 0
    steps: int = 0
    went_wrong: int = 0  # "something went wrong" replies seen
    # Screens are counted as shown (chat.shown_by_bot: a message sent, or edited into the next
    # screen by a press), so a screen edited in place is newer than the one acted on.
    _acted: int = -1  # where in shown_by_bot the last screen acted on was
    _gate: int = 0  # message id of a /start whose answer has not come yet
    _screen_shown: int = -1  # where the screen returned by _next_screen was shown

    def _screen_at(self) -> tuple[int, StoredMessage] | None:
        shown = self.person.chat.shown_by_bot
        for at in range(len(shown) - 1, -1, -1):
            message = shown[at]
            if not message.deleted and (message.buttons or REFERENCE.search(message.text or "")):
                return at, message
        return None

    def screen(self) -> StoredMessage | None:
        """The newest bot message that asks something (has buttons) or gives the reference."""
        found = self._screen_at()
        return None if found is None else found[1]

    def acknowledged(self) -> dict[str, object]:
        """Answers the bot acknowledged: it later showed a screen past their question."""
        furthest = reached(self.programme, self.person)
        index = {q.id: i for i, q in enumerate(self.programme.form)}
        return {q: v for q, v in self.answered.items() if index[q] < furthest}

    async def run(self, payload: str = "hiv", timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        await self.bot_up.wait()
        await self._start(payload)
        while self.reference is None:
            assert time.monotonic() < deadline, (
                f"{self.person.id} did not finish within {timeout}s:\n"
                f"{full_transcript(self.person)}"
            )
            screen = await self._next_screen()
            if screen is None:  # nothing came back: tap again
                self.retries += 1
                await self.bot_up.wait()
                await self._start(payload)
                continue
            await self._act(screen)
        return self.reference

    async def _start(self, payload: str) -> None:
        """/start: until its answer arrives, older screens are not acted on. Answers come in
        order, so the answer to /start shows where the person is after everything they sent
        before it (acting on an older screen could answer the same question twice)."""
        sent = await self.person.send(f"/start {payload}")
        self._gate = sent.message_id

    def _opened(self) -> int | None:
        """Where the bot's answer to the gating /start was shown, once it has come."""
        welcome = self.programme.text(self.programme.welcome, "en")
        for at, message in enumerate(self.person.chat.shown_by_bot):
            text = message.text or ""
            if message.message_id > self._gate and (
                text.startswith(("Welcome back", welcome)) or REFERENCE.search(text)
            ):
                return at
        return None

    async def _next_screen(self) -> StoredMessage | None:
        """A screen newer than the last one acted on; None if none came (or it went wrong)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience
        while loop.time() < deadline:
            if self._gate:
                opened = self._opened()
                if opened is not None:
                    self._acted, self._gate = max(self._acted, opened - 1), 0
            shown = self.person.chat.shown_by_bot
            newer = shown[self._acted + 1 :]
            if any(WENT_WRONG in (m.text or "") for m in newer):
                self._acted = len(shown) - 1
                self.went_wrong += 1
                return None
            found = self._screen_at()
            if not self._gate and found is not None and found[0] > self._acted:
                self._screen_shown = found[0]
                return found[1]
            await self.person.world.wait_changed(0.05)
        return None

    async def _act(self, screen: StoredMessage) -> None:
        self._acted = self._screen_shown
        self.steps += 1
        person, data = self.person, _data(screen)
        found = REFERENCE.search(screen.text or "")
        if found:
            self.reference = found.group(0)
        elif any(d.startswith("c:y:") for d in data):
            await person.press("Yes, I agree", message=screen)
        elif any(d.endswith(":cd") for d in data):
            await person.press("Done", message=screen)
        elif any(d.endswith(":S") for d in data):
            await person.press("Send my form", message=screen)
        else:
            question = asked(self.programme, screen, "en")
            assert question is not None, f"an unexpected screen: {screen.text!r}"
            await self._answer(screen, question)

    async def _answer(self, screen: StoredMessage, question: Question) -> None:
        person = self.person
        value = self.plan.get(question.id, SKIP if not question.required else None)
        if question.kind == "info":
            await person.press("Continue", message=screen)
            return
        self.answered[question.id] = value
        if value is SKIP:
            label = "Prefer not to say" if question.skip_label == "prefer_not" else "Skip"
            await person.press(label, message=screen)
        elif question.kind == "multi":
            assert isinstance(value, list | tuple)
            for label in value:
                if f"☐ {label}" in screen.button_texts:  # not ticked yet (a resumed screen)
                    await person.press(f"☐ {label}", message=screen)
            await person.press("Done", message=screen)
        elif question.kind in ("single", "yesno"):
            await person.press(str(value), message=screen)
        else:
            assert value is not None, f"the plan has no answer for {question.id}"
            await person.send(str(value))


def personal_plan(base: Plan, i: int) -> dict[str, object]:
    """The plan with typed answers that name the person, so answers cannot be mixed up."""
    plan = dict(base)
    plan["name"] = f"Robin {i}"
    plan["area"] = f"Brighton {i}"
    plan["interests"] = f"Art and walking {i}"
    return plan


# -- what the store holds -------------------------------------------------------------------


@dataclass
class Held:
    """Everything stored about one person that an intake touches."""

    draft: Draft | None
    referrals: list[tuple[str, dict[str, object]]]  # (reference, answers)

    def answer(self, question_id: str) -> tuple[bool, object]:
        """(found, value) in the draft or, failing that, the newest referral."""
        if self.draft is not None and question_id in self.draft.answers:
            return True, self.draft.answers[question_id]
        for _, answers in self.referrals:
            if question_id in answers:
                return True, answers[question_id]
        return False, None


async def held(store: Store, telegram_id: int) -> Held:
    async with store.unit() as uow:
        person = await uow.people.find(telegram_id)
        if person is None:
            return Held(None, [])
        raw = await uow.drafts.load(person)
        draft = Draft.from_bytes(raw) if raw is not None else None
        referrals = [
            (r.reference, json.loads(await uow.referrals.answers(r)))
            for r in await uow.referrals.for_person(person)
        ]
    return Held(draft, referrals)


def missing_answers(
    programme: Programme, holding: Held, acknowledged: dict[str, object]
) -> list[str]:
    """Acknowledged answers that the store does not hold (as they were given)."""
    lost = []
    by_id = {q.id: q for q in programme.form}
    for question_id, value in acknowledged.items():
        found, stored = holding.answer(question_id)
        want = expected_answer(programme, by_id[question_id], value)
        if not found or stored != want:
            lost.append(f"{question_id}: gave {want!r}, stored {stored!r} (found={found})")
    return lost


def outbox_notices(database: Path) -> dict[str, list[str]]:
    """Reference -> the states of its group-notice outbox rows (plain columns only)."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute(
            "SELECT r.reference, o.state FROM outbox o JOIN referrals r ON r.id = o.referral_id"
            " WHERE o.kind = 'notice' ORDER BY o.id"
        ).fetchall()
    found: dict[str, list[str]] = {}
    for reference, state in rows:
        found.setdefault(reference, []).append(state)
    return found


def integrity(database: Path) -> str:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


# -- time -------------------------------------------------------------------------------------


class FastClock:
    """Wall-clock time plus an offset the test moves on, so the delivery worker's back-off
    (2, 4, 8 s ...) passes without waiting for it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@contextlib.asynccontextmanager
async def time_passes(
    runtime: Runtime, clock: FastClock, step: float = 5.0
) -> AsyncIterator[None]:
    """Every 50 ms, `step` seconds pass for the bot and its delivery worker looks again."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.05)
            clock.offset += timedelta(seconds=step)
            runtime.worker.wake()

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# -- Telegram failing -------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultKind:
    name: str
    kind: str = "error"  # "error" | "timeout" | "drop"
    status: int = 500
    deliver: bool = False  # the request went through before the connection failed
    burst: int = 1  # this many calls in a row (429 bursts)


@dataclass
class Chaos:
    """Seeded random faults on some Bot API methods. Each request is decided once: with
    probability `rate` it gets one of `kinds` (a 429 burst fails the next few calls of that
    method too), at most `budget` faults in all. Everything decided is in `log`."""

    emulator: BotApiEmulator
    rng: random.Random
    methods: frozenset[str]
    kinds: tuple[FaultKind, ...]
    rate: float = 0.2
    budget: int = 40
    hold: float = 0.3
    scope: Callable[[Call], bool] = lambda call: True  # which requests it may fail
    log: list[tuple[str, str, object, str]] = field(default_factory=list)  # method, kind, chat
    _faults: dict[str, Fault] = field(default_factory=dict)
    _burst: dict[str, tuple[str, int]] = field(default_factory=dict)

    def arm(self) -> Chaos:
        for spec in self.kinds:
            self._faults[spec.name] = self.emulator.fail_next(
                "*",
                kind=spec.kind,  # type: ignore[arg-type]
                status=spec.status,
                retry_after=1 if spec.status == 429 else None,
                times=self.budget * max(spec.burst, 1),
                hold=self.hold,
                deliver=spec.deliver,
                when=self._when(spec.name),
            )
        return self

    def _when(self, name: str) -> Callable[[Call], bool]:
        return lambda call: self._decide(call) == name

    def _decide(self, call: Call) -> str | None:
        key = f"_chaos_{id(self)}"
        cached = call.__dict__.get(key, "")
        if cached != "":
            return cached  # type: ignore[no-any-return]
        choice = self._choose(call)
        call.__dict__[key] = choice
        if choice is not None:
            text = str(call.params.get("text", ""))
            self.log.append((call.method, choice, call.chat_id, text))
        return choice

    def _choose(self, call: Call) -> str | None:
        method = call.method
        if method not in self.methods or not self.scope(call):
            return None
        burst = self._burst.get(method)
        if burst is not None:
            name, left = burst
            if left > 1:
                self._burst[method] = (name, left - 1)
            else:
                del self._burst[method]
            return name
        if len(self.log) >= self.budget or self.rng.random() >= self.rate:
            return None
        spec = self.rng.choice(self.kinds)
        if spec.burst > 1:
            self._burst[method] = (spec.name, spec.burst - 1)
        return spec.name

    def triggered(self) -> dict[str, int]:
        return {name: fault.triggered for name, fault in self._faults.items()}


# -- another process holding the database ---------------------------------------------------

_LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
db.close()
"""


@contextlib.contextmanager
def locked_database(database: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds a write lock (BEGIN EXCLUSIVE) until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "locked"
        yield process
    finally:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        process.wait(10)
        process.stdout.close()
