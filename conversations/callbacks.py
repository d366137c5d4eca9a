"""Callback data: tiny codes that say which screen a button belongs to and what it does.

Format: ``<screen>:<action>[:<arg>]`` for buttons of a draft (the screen number must match the
draft's, so a stale button is recognised), ``c:<action>:<programme>:<language>[:<source>]`` before
consent, when nothing is stored yet (the source is the id of the link they came by, from the
config: it travels in the buttons until they agree, and is checked against the config again), and
``a:<action>`` for the person's whole record. Arguments are option positions and ids from the
config, never answers. A supporter's profile screens are a dialog with the engine's buttons
(``p2:<screen>:<action>[:<field>[:<arg>]]``, conversations/engine.py); `PROFILE_ENTRY` opens
it from outside (like /profile).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conversations import engine

MAX_BYTES = 64  # telegram.constants.InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
#: The queue's views.
QUEUE_VIEWS = ("all", "mine")
#: A number in callback data: ASCII digits only (str.isdigit also takes "²", which int() refuses)
#: and short (a forged 50-digit page overflows SQLite's integers).
_NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class DraftPress:
    """A button of the form (the intake dialog): see conversations/engine.py for its format."""

    screen: int
    action: str
    arg: str
    version: int = 1


@dataclass(frozen=True)
class ConsentPress:
    action: str
    programme: str
    language: str
    source: str | None = None


@dataclass(frozen=True)
class AccountPress:
    """A button about the person's whole record (delete everything), not about a form."""

    action: str


@dataclass(frozen=True)
class CasePress:
    """A coordinator's button on a referral: checked against role and state when pressed."""

    action: str
    reference: str
    arg: str = ""
    version: int = 1  # 1: ``r:`` (no screen number); the engine's ``w2:`` for the dialog's
    screen: int = 0


@dataclass(frozen=True)
class ProfilePress:
    """A supporter's button on their own profile (the engine's format; ``p:<action>...`` before
    it, read as version 1 with no screen number)."""

    action: str
    field: str = ""
    arg: str = ""
    version: int = 1
    screen: int = 0


@dataclass(frozen=True)
class SupportPress:
    """A supporter's answer to a hand-over: ``s:<action>:<engagement id>``."""

    action: str
    engagement: str


@dataclass(frozen=True)
class StaffReferralPress:
    """A coordinator acting for someone without Telegram: ``n:<action>:<arg>[:<screen>]``,
    where the action is how the person agreed (arg: the programme) or ``erase`` (arg: the
    reference). ``screen``: the number of the "How did they agree?" screen on the coordinator's
    counter (0: a button made before screens were numbered)."""

    action: str
    arg: str
    screen: int = 0


@dataclass(frozen=True)
class QueuePress:
    view: str
    page: int


def case(action: str, reference: str, arg: str | int = "") -> str:
    return _checked(f"r:{action}:{reference}" + (f":{arg}" if arg != "" else ""))


def case_step(screen: int, action: str, reference: str, arg: str | int = "") -> str:
    """A button of a screen of the coordinator's case-work dialog (conversations/coordinating.py:
    a note or message asked, resources ticked, a supporter chosen, a removal confirmed): the
    engine's format, ``w2:<screen>:<action>:<reference>[:<arg>]``."""
    return engine.button("casework", screen, action, reference, arg)


#: "My profile" from outside the profile dialog (after /join): opens it as /profile does.
PROFILE_ENTRY = "p:show"


def profile(screen: int, action: str, field: str = "", arg: str | int = "") -> str:
    """A button of the profile dialog's screen number `screen`."""
    return engine.button("profile", screen, action, field, arg)


def support(action: str, engagement: str) -> str:
    return _checked(f"s:{action}:{engagement}")


def queue(view: str, page: int) -> str:
    return _checked(f"q:{view}:{page}")


def account(action: str) -> str:
    return _checked(f"a:{action}")


def checkins(action: str) -> str:
    """``k:<action>``: the person's check-ins (resume after /stop)."""
    return _checked(f"k:{action}")


def staff_referral(action: str, arg: str, screen: int = 0) -> str:
    return _checked(f"n:{action}:{arg}" + (f":{screen}" if screen else ""))


def draft(screen: int, action: str, arg: str | int = "") -> str:
    return engine.button("intake", screen, action, arg)


def consent(action: str, programme: str, language: str, source: str | None = None) -> str:
    return _checked(f"c:{action}:{programme}:{language}" + (f":{source}" if source else ""))


Press = (
    DraftPress
    | ConsentPress
    | AccountPress
    | CasePress
    | QueuePress
    | ProfilePress
    | SupportPress
    | StaffReferralPress
)


def parse(data: str | None) -> Press | None:
    """Decode callback data; None for anything malformed (forged or from an old version)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if parts[0] == "r" and len(parts) in (3, 4) and parts[1] and parts[2]:
        return CasePress(parts[1], parts[2], parts[3] if len(parts) == 4 else "")
    if parts[0] == "s" and len(parts) == 3 and parts[1] and parts[2]:
        return SupportPress(parts[1], parts[2])
    if parts[0] == "q" and len(parts) == 3 and parts[1] in QUEUE_VIEWS:
        page = number(parts[2])
        return None if page is None else QueuePress(parts[1], page)
    if parts[0] == "n" and len(parts) in (3, 4) and parts[1] and parts[2]:
        shown = number(parts[3]) if len(parts) == 4 else 0
        return None if shown is None else StaffReferralPress(parts[1], parts[2], shown)
    if parts[0] == "a" and len(parts) == 2 and parts[1]:
        return AccountPress(parts[1])
    if parts[0] == "c" and len(parts) in (4, 5) and all(parts[1:]):
        return ConsentPress(parts[1], parts[2], parts[3], parts[4] if len(parts) == 5 else None)
    press = engine.parse(data)
    if press is not None and press.dialog == "intake":
        return DraftPress(press.screen, press.action, press.arg, press.version)
    if press is not None and press.dialog == "casework" and press.arg and len(press.more) <= 1:
        arg = press.more[0] if press.more else ""
        return CasePress(press.action, press.arg, arg, press.version, press.screen)
    if press is not None and press.dialog == "profile" and len(press.more) <= 1:
        arg = press.more[0] if press.more else ""
        return ProfilePress(press.action, press.arg, arg, press.version, press.screen)
    return None


def number(text: str) -> int | None:
    """A number from callback data (at most 9 ASCII digits), else None: forged data is refused."""
    return int(text) if _NUMBER.fullmatch(text) else None


def _checked(data: str) -> str:
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data
