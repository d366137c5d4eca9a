"""Simulated people: one fills in the whole HIV form, one says the same to an echo bot.

Each action (a message or a button press) is one Telegram update. A person takes the emulator's
clock just before queuing the update, then waits (event-driven, see `watch`) until the bot has
finished answering it before the next action, as a person would. Per action we keep:

- `first`: until the bot's first visible request to this chat (sendMessage/edit*) reached the
  emulator: the reply latency people feel.
- `full`: until the last visible request of the whole answer (e.g. edit the pressed message and
  send the next question) reached the emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from conversations.forms import Programme
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.harness import HIV_PLAN, REFERENCE, SKIP, asked

from .watch import ChatLog, RequestLog

T = TypeVar("T")
Kind = Literal["text", "press"]

ECHO_BUTTON = "Echo"
HELP_NOW = "If you need help now"


@dataclass(frozen=True)
class Action:
    """One update a person sends: typed text, or a press of the button with this label."""

    kind: Kind
    label: str


@dataclass
class Sample:
    action: Action
    first: float  # seconds from queuing the update to the bot's first visible request
    full: float  # ... to the last visible request of its answer


@dataclass
class Outcome:
    person_id: int
    samples: list[Sample] = field(default_factory=list)
    reference: str | None = None
    error: str | None = None
    started: float = 0.0  # emulator clock
    finished: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class StepTimeout(Exception):
    """The bot did not finish answering one action in time."""


class Driver:
    """Sends one person's actions and times the bot's answers."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        requests: RequestLog,
        person: ScriptedUser,
        step_timeout: float,
    ) -> None:
        self.emulator = emulator
        self.person = person
        self.log: ChatLog = requests.chat(person.id)
        self.step_timeout = step_timeout
        self.outcome = Outcome(person.id)

    def new_messages(self, since: int) -> list[StoredMessage]:
        """Messages shown since `since`: sent, or edited into a new screen (a press answered
        in place), as they stand now."""
        return self.person.chat.shown_by_bot[since:]

    async def act(
        self, action: Action, until: Callable[[int, float], T | None], *, contains: bool = False
    ) -> T:
        """Queue `action`, wait until `until(messages_before, t0)` is truthy, record timings."""
        before = len(self.person.chat.shown_by_bot)
        t0 = self.emulator.clock.now()
        if not self.outcome.samples:
            self.outcome.started = t0
        if action.kind == "text":
            await self.person.send(action.label)
        else:
            await self.person.press(action.label, contains=contains)
        try:
            result = await self.log.wait(lambda: until(before, t0), self.step_timeout)
        except TimeoutError:
            raise StepTimeout(
                f"no complete answer to {action.kind} {action.label!r} within "
                f"{self.step_timeout:.0f}s; requests since: "
                f"{[(r.method, r.status) for r in self.log.since(t0)]}\n"
                f"transcript:\n{self.person.transcript()}"
            ) from None
        first, last = self.log.first_visible_since(t0), self.log.last_visible_since(t0)
        assert first is not None and last is not None  # `until` saw the answer
        self.outcome.samples.append(Sample(action, first.at - t0, last.at - t0))
        self.outcome.finished = last.at
        return result

    # -- conditions -------------------------------------------------------------------------

    def new_with_buttons(self, before: int, _t0: float) -> StoredMessage | None:
        """The newest message shown since `before` that has buttons (the next screen)."""
        fresh = [m for m in self.new_messages(before) if m.buttons]
        return fresh[-1] if fresh else None

    def new_message(self, before: int, _t0: float) -> StoredMessage | None:
        fresh = self.new_messages(before)
        return fresh[-1] if fresh else None

    def edited(self, _before: int, t0: float) -> bool:
        return any(r.method.lower().startswith("edit") for r in self.log.since(t0))

    def help_now(self, before: int, _t0: float) -> StoredMessage | None:
        return next((m for m in self.new_messages(before) if HELP_NOW in m.content), None)


async def answer_screen(
    driver: Driver, programme: Programme, screen: StoredMessage, language: str = "en"
) -> StoredMessage:
    """Answer the question on `screen` from HIV_PLAN; returns the bot's next screen."""
    question = asked(programme, screen, language)
    if question is None:
        raise AssertionError(f"unrecognised screen {screen.text!r}")
    value = HIV_PLAN.get(question.id, SKIP if not question.required else None)
    if question.kind == "info":
        action = Action("press", "Continue")
    elif value is SKIP:
        label = "Prefer not to say" if question.skip_label == "prefer_not" else "Skip"
        action = Action("press", label)
    elif question.kind == "multi":
        assert isinstance(value, Sequence)
        for label in value:
            await driver.act(Action("press", str(label)), driver.edited, contains=True)
        action = Action("press", "Done")
    elif question.kind in ("single", "yesno"):
        action = Action("press", str(value))
    else:
        assert value is not None, f"the plan has no answer for {question.id}"
        action = Action("text", str(value))
    return await driver.act(action, driver.new_with_buttons)


async def fill_in_hiv_form(driver: Driver, programme: Programme, language: str = "en") -> None:
    """/start hiv, consent, every question of the shipped form, send; keeps the reference."""
    await driver.act(Action("text", "/start hiv"), driver.new_with_buttons)
    screen = await driver.act(Action("press", "Yes, I agree"), driver.new_with_buttons)
    for _ in range(len(programme.form) + 2):
        if screen.text is not None and screen.text.startswith("Please check"):
            break
        if screen.text is not None and screen.text.startswith("A few choices"):
            # the consent choices step (check-ins, feedback...): left as they are
            screen = await driver.act(Action("press", "Done"), driver.new_with_buttons)
            continue
        screen = await answer_screen(driver, programme, screen, language)
    else:
        raise AssertionError("no review screen after the whole form")
    before = len(driver.person.chat.shown_by_bot)
    await driver.act(Action("press", "Send my form"), driver.help_now)
    texts = " ".join(m.content for m in driver.new_messages(before))
    found = REFERENCE.search(texts)
    if found is None:
        raise AssertionError(f"no reference in the bot's answer to 'Send my form': {texts!r}")
    driver.outcome.reference = found.group(0)


async def talk_to_echo(driver: Driver, actions: Sequence[Action]) -> None:
    """The same updates as an intake: texts are sent as typed, presses hit the echo button."""
    for action in actions:
        if action.kind == "text":
            echoed = await driver.act(action, driver.new_message)
            if echoed.text != action.label:
                raise AssertionError(f"echo sent {echoed.text!r} for {action.label!r}")
        else:
            await driver.act(Action("press", ECHO_BUTTON), driver.new_message)
