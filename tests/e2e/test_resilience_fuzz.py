"""Bad input against the real bot, from everyone at once: a Hypothesis state machine plays
people who write in (random messages, commands, stickers, photos, edits; current, stale and
forged buttons; the form answered properly, in English or, after pressing "Svenska", in
Swedish), two coordinators (claim from the group, status changes, notes, messages to the
person, match and hand-over) and a peer supporter (accept or decline a hand-over, profile).

After every step the bot is drained (every update handled, nothing due in the outbox, the
delivery worker idle: no waiting in silence) and these must hold, each of which a bug could
break:

- nothing failed: no ERROR in the log, no "something went wrong" reply;
- every button press was answered, and every private message got a reply;
- what is stored about each person decrypts and validates against the form;
- the references a person was shown are exactly their referrals on disk, and the referrals
  table holds no other (counts of referrals match submissions);
- at most one live referral per person (see LIVE);
- the coordinators' group only ever sees references: no typed answer, note or message;
- no plaintext canary (typed answers, coordinators' notes and messages) in the database
  files, the log, or the group;
- no reply in a language the person did not choose: every catalog text a person gets is in
  the language stored for them (their draft's, else their preference, else English).

Runs:

- CI: the "ci" profile, derandomised (a fixed seed: the same walk every run),
  ``FUZZ_EXAMPLES`` examples of up to ``FUZZ_STEPS`` steps.
- By hand, longer and random::

      PEERDOOR_FUZZ_PROFILE=long .venv/bin/python -m pytest -q -s tests/e2e/test_resilience_fuzz.py

  (the "long" profile: 200 examples of up to 60 steps, a new seed each run; Hypothesis prints
  the failing walk to replay). ``PEERDOOR_FUZZ_EXAMPLES=N`` overrides the number of examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bot.i18n import load_catalog
from bot.telegram.app import Runtime
from conversations import callbacks
from conversations.draft import Draft
from conversations.forms import Programme
from conversations.lifecycle import OPEN
from conversations.matching import Profile
from conversations.preferences import Preferences
from sandbox.emulator import BotApiEmulator, ScriptedGroup, ScriptedUser, StoredMessage
from tests.e2e.coordination import COLE, CORA, GROUP_ID, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, asked, drain, in_process
from tests.e2e.resilience import WENT_WRONG, held

T = TypeVar("T")
SAM = 7201  # the peer supporter, seeded with a profile at the start

FUZZ_EXAMPLES = 8
FUZZ_STEPS = 40
settings.register_profile(
    "ci",
    max_examples=FUZZ_EXAMPLES,
    stateful_step_count=FUZZ_STEPS,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
settings.register_profile(
    "long",
    max_examples=200,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)

#: Statuses of a referral still being worked or supported: one such at most per person.
#: (This rule is being added to the product with finding 5 of issue #16.)
LIVE = frozenset((*OPEN, "matched"))

#: In typed answers, notes and messages: must never be stored or logged in plaintext, nor
#: reach the group.
CANARY = "Zebracanary"
CANARY_PLAN: dict[str, object] = {
    **HIV_PLAN,
    "name": f"Quill {CANARY}",
    "area": f"{CANARY} Heights",
    "clinic": f"{CANARY} Clinic",
    "interests": f"{CANARY} knitting",
}

COMMANDS = [
    "/start",
    "/start hiv",
    "/start diabetes",
    "/start nonsense",
    "/back",
    "/cancel",
    "/help",
    "/language",
    "/exit",
    "/exit keep",
    "/pause",
    "/privacy",
    "/status",
    "/delete",
    "/mydata",
    "/queue",
    "/referral PD-000000",
    "/join AAAA-BBBB-CCCC",
    "/frobnicate",
    "/start@peerdoor_test_bot",
    "/groupid",
    "/stop",
    "/sessions",
]
ODD_TEXT = [
    "Robin",
    "25 to 34",
    "Only through this chat",
    "Done",
    "Skip",
    "31/12/2025",
    "not a date 99/99/9999",
    "-1",
    "1e309",
    "🏳️‍🌈🧡 emoji 👩🏽‍🤝‍👩🏿",
    "مرحبا، أنا أعيش مع فيروس نقص المناعة",  # right-to-left
    "שלום \u202eevil\u202c",  # a right-to-left override
    "zero\u200bwidth\u200d\ufeffjoiners",
    "<b>bold</b> & <i>unclosed <a href='x'>",
    "&amp; &lt;script&gt; </pre>",
    "x" * 5000,
    "I want to die",  # a crisis phrase from the shipped config
    "\u00a0 \t padded \n\n lines \r\n",
    "/",
    "NULL\x00byte",
]
PREFIXES = [
    *("r:", "q:", "a:", "c:", "0:", "1:", "99:", "c:y:", "a:del", "r:claim:", "q:mine:"),
    # peer support: profile, hand-over answers, meetings, surveys, check-ins
    *("p:", "p:tog:languages:", "p:leaveok", "s:accept:", "s:end:", "m:", "m:p:", "f:0:go:"),
    *("f:1:o:", "k:resume", "r:pick:", "r:offer:"),
]
#: Buttons a coordinator works a referral with (pressed on the newest message that has one,
#: in the group or their chat): claim, status, note, message, match, hand-over, outcomes.
STAFF_BUTTONS = [
    "Claim",
    "Contacted",
    "Assessing",
    "Verified",
    "Add a note",
    "Write to them",
    "Match",
    "1. Sam",
    "Send to Sam",
    "Defer",
    "Send and defer",
    "Decline",
    "Withdrawn",
    "Close",
    "Unassign",
    "Take over",
    "No note",
]
STAFF_TEXT = [
    f"Called them, {CANARY} note",
    f"Hello from the team, {CANARY} message",
    "/start",
    "/queue",
    "/mine",
    "/status",
    "/help",
    "/referral PD-000000",
]
SUPPORTER_BUTTONS = ["Yes, I can", "No, not this time", "My profile", "Plan a session"]
SUPPORTER_TEXT = ["/start", "/profile", "/sessions", f"{CANARY} supporter note", "/help"]


class Story:
    """Everyone's chats, for a failure message (written out only when one is shown)."""

    def __init__(self, everyone: list[ScriptedUser]) -> None:
        self.everyone = everyone

    def __str__(self) -> str:
        return "\n\n".join(p.transcript() for p in self.everyone if p.bot_messages)


def callback_buttons(message: StoredMessage) -> list[tuple[str, str]]:
    """(label, callback data) of the message's inline buttons (not links)."""
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [(b["text"], b["callback_data"]) for row in rows for b in row if "callback_data" in b]


# -- which language a text is in -----------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{[^}]*\}|<[^>]*>|\n")


def _fragments(text: str) -> list[str]:
    return [f.strip() for f in _PLACEHOLDER.split(text) if len(f.strip()) >= 18]


def _markers() -> dict[str, tuple[str, ...]]:
    """Per language, pieces of the bot's own texts found only in that language's catalog."""
    catalog = load_catalog()
    english = set(catalog._messages["en"]) | set(catalog._messages["sv"])  # msgids
    swedish = {s for s in catalog._messages["sv"].values() if s}
    en_bits = {f for t in english if t not in swedish for f in _fragments(t)}
    sv_bits = {f for t in swedish if t not in english for f in _fragments(t)}
    return {
        "en": tuple(sorted(b for b in en_bits if not any(b in s for s in swedish))),
        "sv": tuple(sorted(b for b in sv_bits if not any(b in e for e in english))),
    }


MARKERS = _markers()


def languages_in(text: str) -> set[str]:
    return {lang for lang, bits in MARKERS.items() if any(b in text for b in bits)}


# -- the bot on a loop of its own ------------------------------------------------------------


class BotThread:
    """The emulator and the real bot on an event loop of their own, in a thread, so that the
    (synchronous) state machine can drive them step by step."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stack = contextlib.AsyncExitStack()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> BotThread:
        self.thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        self.emulator = await self._stack.enter_async_context(BotApiEmulator(rate_limits=False))
        self.files = BotFiles(self.root, config_path=write_config(self.root))
        self.runtime: Runtime = await self._stack.enter_async_context(
            in_process(self.files, self.emulator)
        )
        self.group: ScriptedGroup = self.emulator.group(GROUP_ID, "Coordinators")
        self.staff = {
            CORA: self.emulator.user(CORA, "Cora"),
            COLE: self.emulator.user(COLE, "Cole"),
        }
        self.supporter = self.emulator.user(SAM, "Sam")
        now = datetime.now(UTC)
        async with self.runtime.store.unit() as uow:
            sam = await uow.people.create(SAM, now)
            await uow.roles.grant(sam, "supporter", "hiv", now)
            profile = Profile(
                name="Sam",
                languages=["en"],
                availability=["weekday_evenings"],
                setting=["online"],
                interests="walking",
            )
            await uow.supporters.save(sam, profile.to_bytes(), now)
        for coordinator in self.staff.values():
            await coordinator.send("/start")
        await drain(self.runtime, self.emulator)

    def drain(self) -> None:
        self.run(drain(self.runtime, self.emulator, timeout=30.0))

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self._stack.aclose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@pytest.fixture
def bot_thread(tmp_path: Path) -> Iterator[BotThread]:
    with BotThread(tmp_path) as running:
        yield running


def fuzz_settings() -> settings:
    chosen = settings.get_profile(os.environ.get("PEERDOOR_FUZZ_PROFILE", "ci"))
    examples = os.environ.get("PEERDOOR_FUZZ_EXAMPLES")
    return settings(chosen, max_examples=int(examples)) if examples else chosen


def test_everyone_at_once_never_breaks_the_bot(
    bot_thread: BotThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bt = bot_thread
    programme = bt.files.config().programme("hiv")
    assert programme is not None
    ids = itertools.count(30001)
    people: list[ScriptedUser] = []  # everyone who wrote in, over all examples
    steps: list[int] = []
    seen = {"records": 0}
    cut: dict[int, int] = {}  # person -> bot messages before their last /delete
    #: person -> the language of the consent screen they last pressed: nothing is stored before
    #: consent, so for someone the bot holds nothing about that is the language they chose
    #: ("Svenska" turns the consent screen into Swedish in place; "Nej tack" answers in it).
    consent_language: dict[int, str] = {}

    def pressed(who: ScriptedUser, data: str) -> None:
        found = callbacks.parse(data)
        if isinstance(found, callbacks.ConsentPress):
            consent_language[who.id] = found.language

    owned: dict[int, int] = {}  # person -> referrals on disk
    walked: dict[str, int] = {}

    def note(what: str) -> None:
        walked[what] = walked.get(what, 0) + 1

    class Everyone(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            fresh = [bt.emulator.user(next(ids), "Fuzz") for _ in range(2)]
            people.extend(fresh)
            self.people = fresh
            self.sent_before: dict[int, int] = {}  # chat id -> bot messages before the step
            self.replies_due: list[ScriptedUser] = []  # wrote privately in this step
            steps.append(0)
            self._mark()

        # -- helpers ------------------------------------------------------------------------

        def _mark(self) -> None:
            everyone = [*people, *bt.staff.values(), bt.supporter]
            self.sent_before = {p.id: len(p.chat.sent_by_bot) for p in everyone}
            self.replies_due = []

        def send(self, who: ScriptedUser, text: str) -> None:
            bt.run(who.send(text))
            self.replies_due.append(who)

        def press(self, who: ScriptedUser, message: StoredMessage, data: str) -> None:
            pressed(who, data)
            bt.run(who.press_data(data, message=message))

        def screens(self, who: ScriptedUser) -> list[StoredMessage]:
            return [m for m in who.bot_messages if callback_buttons(m)]

        def press_label(self, who: ScriptedUser, labels: list[str], where: list[Any]) -> bool:
            """Press the first of `labels` found on the newest message showing it."""
            for label in labels:
                for view in where:
                    for message in reversed(view.bot_messages):
                        for text, data in callback_buttons(message):
                            if text == label or text.startswith(label):
                                pressed(who, data)
                                bt.run(who.press_data(data, message=message))
                                note(label)
                                return True
            return False

        # -- what a person writing in does ----------------------------------------------------

        @rule(
            who=st.integers(0, 1),
            text=st.one_of(st.sampled_from(ODD_TEXT), st.text(min_size=1, max_size=300)),
        )
        def types(self, who: int, text: str) -> None:
            if not text.strip():
                text = "?" + text  # Telegram does not send blank messages
            self.send(self.people[who], text)

        @rule(who=st.integers(0, 1), command=st.sampled_from(COMMANDS))
        def commands(self, who: int, command: str) -> None:
            self.send(self.people[who], command)

        @rule(who=st.integers(0, 1))
        def answers_properly(self, who: int) -> None:
            self._answer_properly(who)

        def _answer_properly(self, who: int) -> tuple[str, str] | None:
            """Answer the newest screen as the plan says, to get deeper into the form (or,
            once sent, into the casework), in whichever language the person chose. Returns
            (question id, text) when it typed the answer to a text question."""
            person = self.people[who]
            screens = self.screens(person)
            if not screens:
                self.send(person, "/start hiv")
                return None
            screen = screens[-1]
            buttons = callback_buttons(screen)  # one read: the bot may edit the message
            language = bt.run(language_of(bt.runtime, person.id))
            question = asked(programme, screen, language)
            typed = question is not None and question.kind in ("text", "number", "date")
            if typed and not any(_step_button(d) for _, d in buttons):  # not the review
                assert question is not None
                value = CANARY_PLAN.get(question.id)
                self.send(person, value if isinstance(value, str) else "12/12/2030")
                return (question.id, value) if isinstance(value, str) else None
            if not buttons:  # its keyboard went while we looked
                self.send(person, "/start hiv")
                return None
            data = _planned(programme, screen, language, buttons)
            note("planned")
            self.press(person, screen, data)
            return None

        @rule(who=st.integers(0, 1))
        def finishes_the_form(self, who: int) -> None:
            """Answer properly until a reference comes back (or 40 screens): so that the walk
            reaches the casework in a few steps. Every text answer typed on the way that the
            bot took (it went on to a later screen: here, the reference) is in the referral on
            disk as typed."""
            person = self.people[who]
            start = len(person.chat.sent_by_bot)
            typed: dict[str, str] = {}
            kinds = {q.id: q.kind for q in programme.form}
            for _ in range(40):
                given = self._answer_properly(who)
                if given is not None and kinds[given[0]] == "text":
                    typed[given[0]] = given[1]
                bt.drain()
                shown = [
                    r
                    for m in person.chat.sent_by_bot[start:]
                    for r in REFERENCE.findall(m.text or "")
                ]
                if shown:
                    note("sent")
                    holding = bt.run(held(bt.runtime.store, person.id))
                    answers = dict(holding.referrals).get(shown[0])
                    assert answers is not None, f"{shown[0]} is not on disk: {holding.referrals}"
                    lost = {q: v for q, v in typed.items() if answers.get(q) != v}
                    assert not lost, f"typed {lost}, on disk {answers}"
                    return

        @rule(who=st.integers(0, 1), pick=st.integers(min_value=0, max_value=50))
        def presses_a_current_button(self, who: int, pick: int) -> None:
            person = self.people[who]
            screens = self.screens(person)
            if not screens:
                self.send(person, "/start")
                return
            buttons = callback_buttons(screens[-1])
            if not buttons:
                self.send(person, "/start")
                return
            self.press(person, screens[-1], buttons[pick % len(buttons)][1])

        @rule(who=st.integers(0, 1), pick=st.integers(min_value=0, max_value=50))
        def presses_a_stale_button(self, who: int, pick: int) -> None:
            person = self.people[who]
            old = self.screens(person)[:-1]
            buttons = [(m, data) for m in old for _, data in callback_buttons(m)]
            if not buttons:
                self.send(person, "/help")
                return
            message, data = buttons[pick % len(buttons)]
            self.press(person, message, data)

        @rule(who=st.integers(0, 1), prefix=st.sampled_from(PREFIXES), junk=st.text(max_size=70))
        def presses_a_forged_button(self, who: int, prefix: str, junk: str) -> None:
            person = self.people[who]
            data = (prefix + junk).encode()[:64].decode(errors="ignore") or "x"
            if not person.bot_messages:
                self.send(person, "/start")
                return
            self.press(person, person.bot_messages[-1], data)

        @rule(who=st.integers(0, 1), emoji=st.sampled_from(["👍", "🤡", "❤️"]))
        def sends_a_sticker(self, who: int, emoji: str) -> None:
            bt.run(self.people[who].send_sticker(emoji))
            self.replies_due.append(self.people[who])

        @rule(who=st.integers(0, 1), caption=st.one_of(st.none(), st.sampled_from(ODD_TEXT[:6])))
        def sends_a_photo(self, who: int, caption: str | None) -> None:
            bt.run(self.people[who].send_photo(caption))
            self.replies_due.append(self.people[who])

        @precondition(lambda self: any(p.messages for p in self.people))
        @rule(who=st.integers(0, 1), text=st.sampled_from(ODD_TEXT))
        def edits_their_last_message(self, who: int, text: str) -> None:
            # Telegram sends edited_message only to bots that ask for it; this bot does not.
            person = self.people[who]
            if any(not m.from_bot and m.text for m in person.messages):
                bt.run(person.edit_last(text))

        # -- what the coordinators and the supporter do ---------------------------------------

        @rule(who=st.sampled_from([CORA, COLE]), label=st.sampled_from(STAFF_BUTTONS))
        def coordinator_works_a_referral(self, who: int, label: str) -> None:
            coordinator = bt.staff[who]
            if not self.press_label(coordinator, [label], [coordinator, bt.group]):
                self.send(coordinator, "/queue")

        @rule(who=st.sampled_from([CORA, COLE]), pick=st.integers(0, 50), stale=st.booleans())
        def coordinator_presses_a_button(self, who: int, pick: int, stale: bool) -> None:
            coordinator = bt.staff[who]
            screens = self.screens(coordinator) + [
                m for m in bt.group.bot_messages if callback_buttons(m)
            ]
            if not screens:
                self.send(coordinator, "/queue")
                return
            screen = screens[pick % len(screens)] if stale else screens[-1]
            buttons = callback_buttons(screen)
            if buttons:
                self.press(coordinator, screen, buttons[pick % len(buttons)][1])

        @rule(who=st.sampled_from([CORA, COLE]), text=st.sampled_from(STAFF_TEXT))
        def coordinator_types(self, who: int, text: str) -> None:
            self.send(bt.staff[who], text)

        @rule(who=st.sampled_from([CORA, COLE]), pick=st.integers(0, 50))
        def coordinator_opens_a_referral(self, who: int, pick: int) -> None:
            shown = sorted(
                {
                    r
                    for p in people
                    for m in p.chat.sent_by_bot
                    for r in REFERENCE.findall(m.text or "")
                }
            )
            if shown:
                self.send(bt.staff[who], f"/referral {shown[pick % len(shown)]}")

        @rule(label=st.sampled_from(SUPPORTER_BUTTONS))
        def supporter_answers(self, label: str) -> None:
            if not self.press_label(bt.supporter, [label], [bt.supporter]):
                self.send(bt.supporter, "/start")

        @rule(text=st.sampled_from(SUPPORTER_TEXT))
        def supporter_types(self, text: str) -> None:
            self.send(bt.supporter, text)

        # -- after every step ---------------------------------------------------------------

        def teardown(self) -> None:
            bt.drain()
            self._mark()  # every person's whole state once more (their chats did not change)
            check_everything(bt, people, self.sent_before, [])

        @invariant()
        def check(self) -> None:
            bt.drain()
            steps[-1] += 1
            try:
                check_everything(bt, self.people, self.sent_before, self.replies_due)
            finally:
                self._mark()

    def check_everything(
        bt: BotThread,
        current: list[ScriptedUser],
        sent_before: dict[int, int],
        replies_due: list[ScriptedUser],
    ) -> None:
        """The invariants, over this example's people and anyone whose chat changed (all
        people: at the end of each example)."""
        everyone = [*people, *bt.staff.values(), bt.supporter]
        story = Story(everyone)

        # Nothing failed.
        new = caplog.records[seen["records"] :]
        seen["records"] = len(caplog.records)
        failed = [r.getMessage() for r in new if r.levelno >= logging.ERROR]
        assert not failed, f"errors in the bot's log: {failed}\n{story}"
        wrong = [
            p.id for p in everyone if any(WENT_WRONG in (m.text or "") for m in p.bot_messages)
        ]
        assert not wrong, f"'something went wrong' for {wrong}\n{story}"

        # Every press answered, every private message answered.
        unanswered = [
            (q.user.id, q.data)
            for q in bt.emulator.world.callback_queries.values()
            if not q.answer
        ]
        assert not unanswered, f"presses never answered: {unanswered}\n{story}"
        silent = {p.id for p in replies_due if len(p.chat.sent_by_bot) <= sent_before.get(p.id, 0)}
        assert not silent, f"no reply to {silent}\n{story}"

        # What is stored decrypts and validates; references shown = referrals on disk; one
        # live referral per person; replies in the language the person chose.
        touched = [
            p for p in people if p in current or len(p.chat.sent_by_bot) > sent_before.get(p.id, 0)
        ]
        facts = bt.run(stored_about(bt.runtime, [p.id for p in touched]))
        for person in touched:
            fact = facts[person.id]
            draft = fact.draft
            if draft is not None:
                used = bt.files.config().programme(draft.programme)
                assert used is not None, draft.programme
                form = {q.id for q in used.form}
                assert draft.current is None or draft.current in form, draft.current
                assert set(draft.answers) <= form, set(draft.answers) - form
                assert set(draft.picked) <= {o.id for q in used.form for o in q.options or []}
            if fact.erased:  # /delete: what they were shown before is gone with them
                cut[person.id] = len(person.chat.sent_by_bot)
            since = person.chat.sent_by_bot[cut.get(person.id, 0) :]
            shown = {r for m in since for r in REFERENCE.findall(m.text or "")}
            stored = set(fact.references)
            assert shown == stored, f"{person.id}: shown {shown}, stored {stored}\n{story}"
            owned[person.id] = len(stored)
            live = [s for s in fact.statuses if s in LIVE]
            assert len(live) <= 1, f"{person.id}: live referrals {fact.statuses}\n{story}"
            chosen = {fact.language}
            if fact.erased and person.id in consent_language:  # nothing stored: not yet agreed
                chosen.add(consent_language[person.id])
            for message in person.chat.sent_by_bot[sent_before.get(person.id, 0) :]:
                found = languages_in(message.text or "")
                assert found <= chosen, (
                    f"{person.id} chose {fact.language!r} but got {found}: {message.text!r}\n"
                    f"{story}"
                )
        with contextlib.closing(sqlite3.connect(bt.files.database)) as db:
            on_disk = db.execute("SELECT count(*) FROM referrals").fetchone()[0]
        total = sum(owned.values())
        assert on_disk == total, f"{on_disk} referrals on disk, {total} shown to people"

        # The group sees references only; no canary in plaintext anywhere.
        for message in bt.group.bot_messages:
            for text in [message.text, *message.edits, *message.button_texts]:
                assert CANARY not in (text or ""), f"the group saw {text!r}"
        assert CANARY.encode() not in bt.files.raw_bytes(), "a canary on disk in plaintext"
        logged = [r.getMessage() for r in new if CANARY in r.getMessage()]
        assert not logged, logged

    run_state_machine_as_test(Everyone, settings=fuzz_settings())
    checked = sum(steps)
    print(f"\n{len(steps)} examples, {checked} checked steps, {len(people)} people; {walked}")
    # The walk sent forms and reached the casework: else the staff rules proved nothing.
    worked = sum(walked.get(label, 0) for label in STAFF_BUTTONS)
    assert walked.get("sent", 0) > 0 and worked > 0, walked


@dataclass(frozen=True)
class Stored:
    """What the store holds about one person, read through the storage API."""

    erased: bool
    draft: Draft | None
    references: tuple[str, ...]
    statuses: tuple[str, ...]
    language: str


async def stored_about(runtime: Runtime, telegram_ids: list[int]) -> dict[int, Stored]:
    found = {}
    for telegram_id in telegram_ids:
        holding = await held(runtime.store, telegram_id)
        async with runtime.store.unit() as uow:
            person = await uow.people.find(telegram_id)
            statuses = [r.status for r in await uow.referrals.for_person(person)] if person else []
        found[telegram_id] = Stored(
            person is None,
            holding.draft,
            tuple(r for r, _ in holding.referrals),
            tuple(statuses),
            await language_of(runtime, telegram_id),
        )
    return found


async def language_of(runtime: Runtime, telegram_id: int) -> str:
    """The language stored for a person: their draft's, else their preference, else the
    language of their Telegram app (English for everyone here)."""
    async with runtime.store.unit() as uow:
        person = await uow.people.find(telegram_id)
        if person is None:
            return "en"
        raw = await uow.drafts.load(person)
        if raw is not None:
            return Draft.from_bytes(raw).language
        prefs = Preferences.from_bytes(await uow.people.settings(person))
    return prefs.language or "en"


def _step_button(data: str) -> bool:
    """Yes to the privacy notice, Send my form, Done with the choices, Continue past info."""
    return data.startswith("c:y:") or data.endswith((":S", ":cd", ":i"))


def _planned(
    programme: Programme, screen: StoredMessage, language: str, buttons: list[tuple[str, str]]
) -> str:
    """The callback data a person following the plan would press on this screen, whatever
    language it is in (read from the callback data and the form, not from English labels)."""
    data = [d for _, d in buttons]
    steps = [d for d in data if _step_button(d)]
    if steps:
        return steps[0]
    question = asked(programme, screen, language)
    if question is not None:
        value = CANARY_PLAN.get(question.id)
        wanted_labels = value if isinstance(value, list) else [value]
        for option in question.options or []:
            if programme.text(option.label, "en") in wanted_labels:
                label = programme.text(option.label, language)
                for text, d in buttons:
                    if text in (label, f"☐ {label}"):  # not ticked yet
                        return d
    ticked = any(text.startswith("☑") for text, _ in buttons)
    for ending in (":d", ":s") if ticked else (":s", ":d"):  # Done once ticked, else Skip
        hits = [d for d in data if d.endswith(ending)]
        if hits:
            return hits[0]
    return data[0]
