"""Check-ins: a short, kind word for someone still waiting, or deferred a while ago.

Only for people who agreed to check-ins. Discreet like all news: the first line is neutral,
because it may show on a lock screen. Every check-in says how to stop them.
"""

from __future__ import annotations

from conversations import callbacks
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, esc

RESUME = "resume"  # the button under the offer to resume check-ins


def waiting(programme: Programme, language: str, _: Translate) -> Prompt:
    return Prompt(
        "\n\n".join(
            [
                esc(_("Hello, just checking in.")),
                esc(
                    _(
                        "Your form is still waiting for someone from our team. We have not "
                        "forgotten you, and we will be in touch."
                    )
                ),
                esc(_("If anything has changed, or you have a question, just type here.")),
                esc(programme.text(programme.emergency, language)),
                esc(_("To stop these check-ins, send /stop.")),
            ]
        )
    )


def door_open(programme: Programme, language: str, _: Translate) -> Prompt:
    return Prompt(
        "\n\n".join(
            [
                esc(_("Hello, just checking in.")),
                esc(
                    _(
                        "It has been a while since we last talked. We hope things are going "
                        "well. Our door stays open: whenever you feel ready, just send /start."
                    )
                ),
                esc(_("To stop these check-ins, send /stop.")),
            ]
        )
    )


def stopped(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "Done. We will not send you check-ins any more. You can still write to us "
                "here at any time."
            )
        )
    )


def offer_resume(_: Translate) -> Prompt:
    return Prompt(
        esc(_("You stopped our check-ins. Would you like them again?")),
        ((Button(_("Yes, check in with me"), callbacks.checkins(RESUME)),),),
    )


def resumed(_: Translate) -> Prompt:
    return Prompt(
        esc(_("Thank you. We will check in with you now and then. Send /stop to stop them."))
    )
