"""The confidentiality agreement (issue #15): what the person reads and answers in the bot, what
their coordinator is told, and whether a hand-over may go ahead. Pure: data in, screens out.

Buttons are ``g:<action>:<version>``: y (I agree), n (I do not agree), c (talk to my
coordinator), r (read it again). The version is the config's short code, never anything a person
said; a press for a version that is no longer the programme's is stale and shows the new text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, bold, esc

Action = Literal["y", "n", "c", "r"]
ACTIONS: tuple[Action, ...] = ("y", "n", "c", "r")
_VERSION_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
HolderNews = Literal["accepted", "declined", "talk", "waiting", "waiting_phone"]


@dataclass(frozen=True)
class AgreementPress:
    action: Action
    version: str


def button(action: Action, version: str) -> str:
    return f"g:{action}:{version}"


def parse(data: str | None) -> AgreementPress | None:
    """``g:<action>:<version>``; None for anything else (forged or broken)."""
    if not data or len(data) > 30:
        return None
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != "g":
        return None
    version = parts[2]
    if not version or len(version) > 20 or not set(version) <= _VERSION_CHARS:
        return None
    for known in ACTIONS:
        if parts[1] == known:
            return AgreementPress(known, version)
    return None


def needed(programme: Programme, accepted_version: str | None) -> bool:
    """Whether the hand-over must wait: the programme has an agreement and the person has not
    accepted its current version (an older version's yes does not count)."""
    agreement = programme.agreement
    return agreement is not None and accepted_version != agreement.version


def ask(programme: Programme, language: str, _: Translate) -> Prompt:
    """The agreement for the person to read; the first line is neutral."""
    agreement = programme.agreement
    assert agreement is not None
    return Prompt(
        "\n\n".join(
            [
                esc(_("Something for you to read before we introduce you.")),
                bold(_("Our agreement about privacy")),
                esc(programme.text(agreement.text, language)),
                esc(_("Do you agree to it?")),
            ]
        ),
        (
            (Button(_("Yes, I agree"), button("y", agreement.version)),),
            (Button(_("No, I do not agree"), button("n", agreement.version)),),
            (Button(_("I would like to talk about it"), button("c", agreement.version)),),
        ),
    )


def accepted(_: Translate) -> Prompt:
    return Prompt(
        esc(_("Thank you. We have noted that you agree.")) + "\n\n"
        + esc(_("Your coordinator can now introduce you to a peer supporter."))
    )  # fmt: skip


def declined(version: str, _: Translate) -> Prompt:
    """Not accepting, explained kindly, with a way to talk and a way back."""
    return Prompt(
        "\n\n".join(
            [
                esc(_("That is OK. Thank you for telling us.")),
                esc(
                    _(
                        "Without this agreement we cannot introduce you to a peer supporter. "
                        "Your coordinator can explain what it means and talk with you about "
                        "other support."
                    )
                ),
            ]
        ),
        (
            (Button(_("I would like to talk about it"), button("c", version)),),
            (Button(_("Read it again"), button("r", version)),),
        ),
    )


def coordinator_told(_: Translate) -> Prompt:
    return Prompt(
        esc(_("We have told your coordinator. They will get in touch with you.")) + "\n\n"
        + esc(_("You can also write to them here."))
    )  # fmt: skip


def changed(_: Translate) -> str:
    """A press on an older version's buttons (a notice); the new text follows."""
    return _("The agreement has changed. Please read the new one.")


def for_holder(reference: str, news: HolderNews, version: str, _: Translate) -> Prompt:
    """What the holder is told (the reference, the version and the answer; nothing more)."""
    text = {
        "accepted": _("{reference} accepted the agreement (version {version}). You can send "
                      "the hand-over now."),
        "declined": _("{reference} did not accept the agreement (version {version})."),
        "talk": _("{reference} would like to talk about the agreement (version {version})."),
        "waiting": _("{reference} has not accepted the agreement (version {version}) yet. We "
                     "have asked them. You can send the hand-over once they have."),
        "waiting_phone": _("{reference} has not accepted the agreement (version {version}) "
                           "yet. You have a task to read it to them on the phone."),
    }[news]  # fmt: skip
    return Prompt(esc(text.format(reference=reference, version=version)))


def line(version: str, answer: str, at: datetime, zone: str, _: Translate) -> str:
    """One line of the referral for its holder: the agreement's state."""
    when = at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    if answer == "accepted":
        text = _("Agreement: version {version} accepted on {when}.")
    else:
        text = _("Agreement: version {version} not accepted ({when}).")
    return text.format(version=version, when=when)
