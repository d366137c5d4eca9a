"""The dialog engine's one callback format, and its one check of a press against the state.

A button of a dialog screen carries ``<code><version>:<screen>:<action>[:<arg>]``: the dialog's
one-letter code, the version of that dialog's state, the number of the screen it belongs to,
and what it does (``i1:12:o:3`` is "option 3" on screen 12 of the intake, version 1). Arguments
are option positions and ids from the config, never anything a person said. A screen number
grows with every screen a dialog shows, so a press on any older screen, or from an older
version of the dialog, is recognised by `is_current` — here, for every dialog — and answered
with the same kind words (`conversations.screens.expired_notice`). Anything that does not
parse is forged or broken: `parse` gives None and nothing happens.

Buttons made before this format (``12:o:3`` for the form, ``f:12:o:3`` for a survey) are read
as version 1 of their dialog, so a person mid-form at an upgrade carries on with the buttons
already on their screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conversations.dialogs import DialogName

MAX_BYTES = 64  # telegram.constants.InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
MAX_SCREEN_DIGITS = 9  # screen numbers past this are forged (and would not fit a column)


@dataclass(frozen=True)
class Spec:
    """A dialog as the callback format knows it."""

    name: DialogName
    code: str  # one letter, unique
    version: int  # bumped when the shape of the dialog's state changes


DIALOGS: dict[DialogName, Spec] = {
    "intake": Spec("intake", "i", 1),
    "survey": Spec("survey", "f", 1),
    "language": Spec("language", "l", 1),
}
_BY_CODE = {spec.code: spec for spec in DIALOGS.values()}
_HEAD = re.compile(r"([a-z])([0-9]{1,3})")
_LEGACY = {"": "intake", "f": "survey"}  # the formats before this one: version 1


@dataclass(frozen=True)
class ScreenPress:
    dialog: DialogName
    version: int
    screen: int
    action: str
    arg: str = ""


def button(dialog: DialogName, screen: int, action: str, arg: str | int = "") -> str:
    """The callback data of a button on `screen` of `dialog`."""
    spec = DIALOGS[dialog]
    data = f"{spec.code}{spec.version}:{screen}:{action}" + (f":{arg}" if arg != "" else "")
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def parse(data: str | None) -> ScreenPress | None:
    """A dialog button's press; None for anything else (another kind of button, or forged)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    head = _HEAD.fullmatch(parts[0])
    if head is not None and head.group(1) in _BY_CODE:
        spec, version, rest = _BY_CODE[head.group(1)], int(head.group(2)), parts[1:]
        name: DialogName = spec.name
    elif parts[0].isdigit():  # the form's buttons before this format
        name, version, rest = "intake", 1, parts
    elif parts[0] == "f":  # a survey's buttons before this format
        name, version, rest = "survey", 1, parts[1:]
    else:
        return None
    if not 2 <= len(rest) <= 3 or not rest[1]:
        return None
    screen = rest[0]
    if not screen.isdigit() or not screen.isascii() or len(screen) > MAX_SCREEN_DIGITS:
        return None
    return ScreenPress(name, version, int(screen), rest[1], rest[2] if len(rest) == 3 else "")


def is_current(dialog: DialogName, version: int, pressed: int, showing: int) -> bool:
    """Whether a press belongs to the screen the dialog is showing now (the one stale check)."""
    return version == DIALOGS[dialog].version and pressed == showing
