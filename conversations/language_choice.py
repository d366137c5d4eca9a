"""Choosing a language in the middle of something else: a sub-dialog on the dialog stack.

/language while a person is in a survey pushes this dialog's frame on top of theirs
(`DialogState.push`); a language pressed (or Back) pops it, and the person is shown exactly the
screen they were on, in the language they chose. The form has its own /language (a step of the
form's dialog, conversations/intake.py); this one is for the dialogs that have none.

Pure: the service (bot/services/sub_dialogs.py) pushes and pops the frame, stores the choice
and shows where the person was. Its buttons use the engine's one format (``l1:<screen>:L:sv``),
so an older language screen's press is stale and answered like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from conversations import engine, screens
from conversations.dialogs import DialogName
from conversations.engine import ScreenPress
from conversations.i18n import LANGUAGE_NAMES, Translate
from conversations.prompts import Button, Prompt, esc, rows

DIALOG: DialogName = "language"


class LanguageState(BaseModel):
    """The frame: the screen showing the choice and the languages offered on it."""

    model_config = ConfigDict(extra="ignore")

    screen: int
    offered: list[str]

    def to_data(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_data(cls, data: str) -> LanguageState:
        return cls.model_validate_json(data)


@dataclass
class Outcome:
    """`state` None: the sub-dialog is over (popped). `language` the one chosen, if any."""

    state: LanguageState | None
    language: str | None = None
    prompts: list[Prompt] = field(default_factory=list)
    notice: str | None = None


def start(after: int, offered: list[str], _: Translate) -> Outcome:
    """The choice, on a screen numbered after `after` (the person's screen counter, or the
    screen of the frame below if that is ahead of it)."""
    state = LanguageState(screen=after + 1, offered=offered)
    return Outcome(state, prompts=[choice(state, _)])


def choice(state: LanguageState, _: Translate) -> Prompt:
    buttons = [
        Button(LANGUAGE_NAMES.get(code, code), engine.button(DIALOG, state.screen, "L", code))
        for code in state.offered
    ]
    back = Button("← " + _("Back"), engine.button(DIALOG, state.screen, "R"))
    return Prompt(esc(_("Which language would you like?")), (*rows(buttons, 2), (back,)))


def press(state: LanguageState | None, pressed: ScreenPress, _: Translate) -> Outcome:
    """A language (or Back): the sub-dialog ends. A press of an older screen changes nothing."""
    if state is None or not engine.is_current(
        DIALOG, pressed.version, pressed.screen, state.screen
    ):
        return Outcome(state, notice=screens.expired_notice(_))
    if pressed.action == "L" and pressed.arg in state.offered:
        return Outcome(None, language=pressed.arg)
    if pressed.action == "R":
        return Outcome(None)
    return Outcome(state, notice=screens.expired_notice(_))
