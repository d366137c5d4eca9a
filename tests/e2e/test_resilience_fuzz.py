"""Bad input against the real bot: a Hypothesis state machine plays a person who sends random
messages, commands, stickers and photos, edits what they sent, and presses current, stale and
forged buttons. After every step: no update failed, the person got an answer, and what is stored
about them still decrypts and validates (one draft at most)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sqlite3
import threading
from collections.abc import Coroutine, Iterator
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

from bot.telegram.app import Runtime
from conversations.forms import Programme
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.harness import HIV_PLAN, BotFiles, asked, in_process
from tests.e2e.resilience import WENT_WRONG, held

T = TypeVar("T")
REPLY_WITHIN = 5.0

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


def callback_buttons(message: StoredMessage) -> list[tuple[str, str]]:
    """(label, callback data) of the message's inline buttons (not links)."""
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [(b["text"], b["callback_data"]) for row in rows for b in row if "callback_data" in b]


class BotThread:
    """The emulator and the real bot on an event loop of their own, in a thread, so that the
    (synchronous) state machine can drive them step by step."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stack = contextlib.AsyncExitStack()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> BotThread:
        self.thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        self.emulator = await self._stack.enter_async_context(BotApiEmulator(rate_limits=False))
        self.files = BotFiles(self.root)
        self.runtime: Runtime = await self._stack.enter_async_context(
            in_process(self.files, self.emulator)
        )

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


def test_random_input_never_breaks_the_bot(
    bot_thread: BotThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bt = bot_thread
    programme = bt.files.config().programme("hiv")
    assert programme is not None
    ids = itertools.count(30001)
    steps: list[int] = []

    class Person(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.person: ScriptedUser = bt.emulator.user(next(ids), "Fuzz")
            self.errors_seen = len(caplog.records)
            steps.append(0)

        # -- helpers ------------------------------------------------------------------------

        def messages_with_buttons(self) -> list[StoredMessage]:
            return [m for m in self.person.bot_messages if callback_buttons(m)]

        def expect_a_reply(self, before: int, what: str) -> None:
            sent = self.person.chat.sent_by_bot

            async def replied() -> None:
                await bt.emulator.wait_until(
                    lambda: len(sent) > before,
                    timeout=REPLY_WITHIN,
                    what=f"a reply to {what!r}",
                )
                await bt.emulator.settle(quiet=0.05, timeout=REPLY_WITHIN)

            bt.run(replied())

        def send(self, text: str) -> None:
            before = len(self.person.chat.sent_by_bot)
            bt.run(self.person.send(text))
            self.expect_a_reply(before, text[:60])

        def press(self, message: StoredMessage, data: str) -> None:
            async def go() -> None:
                press = await self.person.press_data(data, message=message)
                await press.answered(timeout=REPLY_WITHIN)
                await bt.emulator.settle(quiet=0.05, timeout=REPLY_WITHIN)

            bt.run(go())

        # -- what a person does -------------------------------------------------------------

        @rule(text=st.one_of(st.sampled_from(ODD_TEXT), st.text(min_size=1, max_size=300)))
        def types(self, text: str) -> None:
            if not text.strip():
                text = "?" + text  # Telegram does not send blank messages
            self.send(text)

        @rule(command=st.sampled_from(COMMANDS))
        def commands(self, command: str) -> None:
            self.send(command)

        @rule()
        def answers_properly(self) -> None:
            """Answer the current question as the plan says, to get deeper into the form."""
            screens = self.messages_with_buttons()
            if not screens:
                self.send("/start hiv")
                return
            screen = screens[-1]
            question = asked(programme, screen, "en")
            if question is not None and question.kind in ("text", "number", "date"):
                value = HIV_PLAN.get(question.id)
                self.send(value if isinstance(value, str) else "12/12/2030")
                return
            buttons = callback_buttons(screen)  # one read: the bot may edit the message
            if not buttons:  # its keyboard went while we looked
                self.send("/start hiv")
                return
            label = _label(programme, screen, [d for _, d in buttons], buttons)
            self.press(screen, dict(buttons)[label])

        @rule(pick=st.integers(min_value=0, max_value=50))
        def presses_a_current_button(self, pick: int) -> None:
            screens = self.messages_with_buttons()
            if not screens:
                self.send("/start")
                return
            buttons = callback_buttons(screens[-1])
            self.press(screens[-1], buttons[pick % len(buttons)][1])

        @rule(pick=st.integers(min_value=0, max_value=50))
        def presses_a_stale_button(self, pick: int) -> None:
            old = self.messages_with_buttons()[:-1]
            buttons = [(m, data) for m in old for _, data in callback_buttons(m)]
            if not buttons:
                self.send("/help")
                return
            message, data = buttons[pick % len(buttons)]
            self.press(message, data)

        @rule(
            prefix=st.sampled_from(PREFIXES),
            junk=st.text(max_size=70),
        )
        def presses_a_forged_button(self, prefix: str, junk: str) -> None:
            data = (prefix + junk).encode()[:64].decode(errors="ignore") or "x"
            messages = self.person.bot_messages
            if not messages:
                self.send("/start")
                return
            self.press(messages[-1], data)

        @rule(emoji=st.sampled_from(["👍", "🤡", "❤️"]))
        def sends_a_sticker(self, emoji: str) -> None:
            before = len(self.person.chat.sent_by_bot)
            bt.run(self.person.send_sticker(emoji))
            self.expect_a_reply(before, "a sticker")

        @rule(caption=st.one_of(st.none(), st.sampled_from(ODD_TEXT[:6])))
        def sends_a_photo(self, caption: str | None) -> None:
            before = len(self.person.chat.sent_by_bot)
            bt.run(self.person.send_photo(caption))
            self.expect_a_reply(before, "a photo")

        @precondition(lambda self: any(not m.from_bot and m.text for m in self.person.messages))
        @rule(text=st.sampled_from(ODD_TEXT))
        def edits_their_last_message(self, text: str) -> None:
            # Telegram sends edited_message only to bots that ask for it; this bot does not.
            bt.run(self.person.edit_last(text))
            bt.run(bt.emulator.settle(quiet=0.05, timeout=REPLY_WITHIN))

        # -- after every step ---------------------------------------------------------------

        def teardown(self) -> None:
            bt.run(bt.emulator.settle(quiet=0.05, timeout=REPLY_WITHIN))

        @invariant()
        def check(self) -> None:
            steps[-1] += 1
            new = caplog.records[self.errors_seen :]
            self.errors_seen = len(caplog.records)
            failed = [r.getMessage() for r in new if r.levelno >= logging.ERROR]
            assert not failed, f"errors in the bot's log: {failed}\n{self.person.transcript()}"
            wrong = [m for m in self.person.bot_messages if WENT_WRONG in (m.text or "")]
            assert not wrong, self.person.transcript()
            holding = bt.run(held(bt.runtime.store, self.person.id))  # decrypts and validates
            draft = holding.draft
            if draft is not None:
                used = bt.files.config().programme(draft.programme)
                assert used is not None, draft.programme
                form = {q.id for q in used.form}
                assert draft.current is None or draft.current in form, draft.current
                assert set(draft.answers) <= form, set(draft.answers) - form
                assert set(draft.picked) <= {o.id for q in used.form for o in q.options or []}
            with contextlib.closing(sqlite3.connect(bt.files.database)) as db:
                doubled = db.execute(
                    "SELECT count(*) FROM (SELECT person_id FROM dialogs GROUP BY person_id"
                    " HAVING count(*) > 1)"
                ).fetchone()[0]
            assert doubled == 0

    run_state_machine_as_test(
        Person,
        settings=settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
    print(f"\n{len(steps)} people, {sum(steps)} checked steps")


def _label(
    programme: Programme,
    screen: StoredMessage,
    data: list[str],
    buttons: list[tuple[str, str]],
) -> str:
    """The button a person following the plan would press on this screen."""
    labels = [label for label, _ in buttons]
    if any(d.startswith("c:y:") for d in data):
        return "Yes, I agree"
    if any(d.endswith((":cd", ":d")) for d in data):
        return "Done"
    if any(d.endswith(":S") for d in data):
        return "Send my form"
    if "Continue" in labels:
        return "Continue"
    question = asked(programme, screen, "en")
    if question is not None:
        value = HIV_PLAN.get(question.id)
        if isinstance(value, str) and value in labels:
            return value
        if isinstance(value, list) and f"☐ {value[0]}" in labels:
            return f"☐ {value[0]}"
    for fallback in ("Skip", "Prefer not to say", "Done"):
        if fallback in labels:
            return fallback
    return labels[0]
