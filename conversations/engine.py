"""The dialog engine's one callback format, and its one check of a press against the state.

A button of a dialog screen carries ``<code><version>:<screen>:<action>[:<arg>...]``: the
dialog's one-letter code, the version of that dialog's state, the number of the screen it
belongs to, what it does, and up to `MAX_ARGS` arguments (``i1:12:o:3`` is "option 3" on screen
12 of the intake, version 1; ``m2:40:d:ABCD1234:20270701`` is "that day" on screen 40 of the
meeting planner for engagement ABCD1234). Arguments are option positions, ids from the config
or from storage (an engagement, a session, a referral's reference) and dates, never anything a
person said: each is a short run of letters, digits, ``-`` or ``_``. A screen number grows with
every screen a dialog shows, so a press on any older screen, or from an older version of the
dialog, is recognised by `is_current` — here, for every dialog — and answered with the same
kind words (`conversations.screens.expired_notice`). Anything that does not parse is forged or
broken: `parse` gives None and nothing happens.

Buttons made before this format are read as version 1 of their dialog, so a person mid-dialog
at an upgrade carries on with the buttons already on their screen: ``12:o:3`` for the form,
``f:12:o:3`` for a survey (both numbered their screens), the meeting planner's
``m:<action>:<engagement>[:<day>]`` and a supporter's profile ``p:<action>[:<field>[:<arg>]]``,
a volunteer's card ``v:<action>:<applicant>[:<arg>]`` (conversations/applicants.py), a
new group's steps ``u:N:new:<choice>`` (conversations/group_screens.py) and Done while writing
through /talk ``t:d:<engagement>`` (conversations/relationship.py),
which carried no screen number: such a press has screen 0
and `is_current` leaves it to the dialog's own checks, as the release before did. A
coordinator's case-work choices were ``r:<action>:<reference>[:<arg>]``, the prefix a referral's
own actions keep: conversations/callbacks.py reads those as version 1 of the case work.
The meeting planner, the profile, the case work, a volunteer's card, a new or changed group and
/talk's writing screen number their screens with the person's one counter
(conversations/dialogs.py), from 1 on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conversations.dialogs import DialogName

MAX_BYTES = 64  # telegram.constants.InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
MAX_SCREEN_DIGITS = 9  # screen numbers past this are forged (and would not fit a column)
MAX_ARGS = 3  # arguments after the action
_ARG = re.compile(r"[A-Za-z0-9_-]{1,60}")  # ids, positions, dates: never free text


@dataclass(frozen=True)
class Spec:
    """A dialog as the callback format knows it."""

    name: DialogName
    code: str  # one letter, unique
    version: int  # bumped when the shape of the dialog's state or its buttons change
    unnumbered: int = 0  # an older version whose buttons carried no screen number (0: none)


DIALOGS: dict[DialogName, Spec] = {
    "intake": Spec("intake", "i", 1),
    "survey": Spec("survey", "f", 1),
    "language": Spec("language", "l", 1),
    "meeting": Spec("meeting", "m", 2, unnumbered=1),
    "profile": Spec("profile", "p", 2, unnumbered=1),
    "casework": Spec("casework", "w", 2, unnumbered=1),
    "applicant": Spec("applicant", "v", 2, unnumbered=1),
    "group": Spec("group", "u", 2, unnumbered=1),
    "talk": Spec("talk", "t", 2, unnumbered=1),
}
_BY_CODE = {spec.code: spec for spec in DIALOGS.values()}
_HEAD = re.compile(r"([a-z])([0-9]{1,3})")
#: The meeting planner's own buttons in its format before this one (``m:<action>:...``); its
#: other ``m:`` buttons (plan, list, cancel or log a meeting) act on a meeting or an
#: engagement, not on a screen, and keep that format (conversations/sessions.py).
_MEETING_V1 = frozenset({"d", "o", "i", "s", "q"})


@dataclass(frozen=True)
class ScreenPress:
    dialog: DialogName
    version: int
    screen: int
    action: str
    arg: str = ""  # the first argument ("" if none)
    more: tuple[str, ...] = ()  # the arguments after the first

    @property
    def args(self) -> tuple[str, ...]:
        return (self.arg, *self.more) if self.arg else ()


def button(dialog: DialogName, screen: int, action: str, *args: str | int) -> str:
    """The callback data of a button on `screen` of `dialog` (a trailing "" argument is left
    out, so an optional one may be passed as "")."""
    spec = DIALOGS[dialog]
    texts = [str(a) for a in args]
    while texts and texts[-1] == "":
        texts.pop()
    if len(texts) > MAX_ARGS or not all(_ARG.fullmatch(t) for t in texts):
        raise ValueError(f"not callback arguments: {texts!r}")
    data = ":".join([f"{spec.code}{spec.version}", str(screen), action, *texts])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def parse(data: str | None) -> ScreenPress | None:
    """A dialog button's press; None for anything else (another kind of button, or forged)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    head = _HEAD.fullmatch(parts[0])
    most = MAX_ARGS  # the form's and a survey's older buttons never had more than one
    if head is not None and head.group(1) in _BY_CODE:
        spec, version, rest = _BY_CODE[head.group(1)], int(head.group(2)), parts[1:]
        name: DialogName = spec.name
    elif parts[0].isdigit():  # the form's buttons before this format
        name, version, rest, most = "intake", 1, parts, 1
    elif parts[0] == "f":  # a survey's buttons before this format
        name, version, rest, most = "survey", 1, parts[1:], 1
    elif parts[0] == "m" and len(parts) > 1 and parts[1] in _MEETING_V1:  # no screen number
        name, version, rest = "meeting", 1, ["0", *parts[1:]]
    elif parts[0] == "p":  # a supporter's profile buttons before this format: no screen number
        name, version, rest = "profile", 1, ["0", *parts[1:]]
    elif parts[:3] == ["u", "N", "new"] and len(parts) == 4:  # a new group's step, before
        name, version, rest = "group", 1, ["0", "N", parts[3]]
    elif parts[:2] == ["t", "d"]:  # Done on a writing screen (/talk) before this format
        name, version, rest = "talk", 1, ["0", *parts[1:]]
    elif parts[0] == "v":  # a volunteer's card before this format (and the listing's entries)
        name, version, rest = "applicant", 1, ["0", *parts[1:]]
    else:
        return None
    if not 2 <= len(rest) <= 2 + most or not rest[1]:
        return None
    screen, action, args = rest[0], rest[1], tuple(rest[2:])
    if not screen.isdigit() or not screen.isascii() or len(screen) > MAX_SCREEN_DIGITS:
        return None
    if not all(_ARG.fullmatch(a) for a in args):
        return None
    return ScreenPress(name, version, int(screen), action, args[0] if args else "", args[1:])


def is_current(dialog: DialogName, version: int, pressed: int, showing: int) -> bool:
    """Whether a press belongs to the screen the dialog is showing now (the one stale check).
    A press from the version before screen numbers (``unnumbered``, screen 0) is left to the
    dialog's own checks, as that release did."""
    spec = DIALOGS[dialog]
    if spec.unnumbered and pressed == 0:  # numbered by the person's counter: from 1 on
        return version == spec.unnumbered
    return version == spec.version and pressed == showing
