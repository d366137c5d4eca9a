"""The confidentiality agreement for someone without Telegram (issue #15 with #13): the holder
reads it out on the phone and records the answer. Pure: data in, screens out.

The holder's task for the agreement carries the text to read and two buttons,
``gp:<y|n>:<version>:<reference>``: the reference is the referral's public code and the
version the config's short code (nothing anyone said). The answer is recorded as the person's
own would be (bot.services.agreement_phone) and shown the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from conversations import agreement, referring
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, bold, esc

PhoneAction = Literal["y", "n"]
_REFERENCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


@dataclass(frozen=True)
class PhonePress:
    action: PhoneAction
    version: str
    reference: str


def button(action: PhoneAction, version: str, reference: str) -> str:
    return f"gp:{action}:{version}:{reference}"


def parse(data: str | None) -> PhonePress | None:
    """``gp:<y|n>:<version>:<reference>``; None for anything else (forged or broken)."""
    if not data or len(data) > 64:
        return None
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != "gp" or parts[1] not in ("y", "n"):
        return None
    inner = agreement.parse(f"g:y:{parts[2]}")  # the same rules for the version
    reference = parts[3]
    if inner is None or not reference or len(reference) > 20:
        return None
    if not set(reference) <= _REFERENCE_CHARS:
        return None
    action: PhoneAction = "y" if parts[1] == "y" else "n"
    return PhonePress(action, inner.version, reference)


def task(programme: Programme, reference: str, language: str, _: Translate) -> Prompt:
    """The holder's task: call them, read the agreement out, record what they said."""
    terms = programme.agreement
    assert terms is not None
    first = referring.task_for_holder(reference, "agreement", _)
    return Prompt(
        "\n\n".join(
            [
                first.text,
                bold(_("Our agreement about privacy")),
                esc(programme.text(terms.text, language)),
                esc(_("When you have read it to them, tell us what they said.")),
            ]
        ),
        (
            (Button(_("They agreed on the phone"), button("y", terms.version, reference)),),
            (Button(_("They did not agree"), button("n", terms.version, reference)),),
        ),
    )
