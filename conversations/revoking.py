"""What coordinators see when a role is taken away (/revoke), and the caps people meet.

Staff texts name a reference at most; the caps' texts are for the person and say nothing about
what they wrote (their first line is neutral, as everything the person gets).
"""

from __future__ import annotations

from conversations import callbacks
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, bold, esc

#: /revoke's confirm and cancel buttons (a coordinator's press, checked again when pressed).
YES, NO = "yes", "no"


def role_name(role: str, _: Translate) -> str:
    return _("coordinator") if role == "coordinator" else _("peer supporter")


def how_to_revoke(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "To take someone's role away, send /revoke and their Telegram user id,"
                " for example /revoke 123456789."
            )
        )
    )


def nobody_to_revoke(_: Translate) -> Prompt:
    return Prompt(esc(_("Nobody with that id has a role in your programmes.")))


def in_config(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "This coordinator is listed in the config file."
                " Ask whoever runs the bot to take them out there."
            )
        )
    )


def not_yourself(_: Translate) -> Prompt:
    return Prompt(esc(_("You cannot take away your own role. Ask another coordinator.")))


def confirm(
    role: str, programme: Programme, lang: str, held: int, _: Translate, *, screen: int
) -> Prompt:
    name = programme.text(programme.name, lang)
    lines = [
        esc(
            _("Take away the {role} role in {programme}?").format(
                role=role_name(role, _), programme=name
            )
        )
    ]
    if role == "coordinator":
        lines.append(
            esc(
                _(
                    "The {count} referrals they hold go back to the queue."
                    " They get no more messages about them."
                ).format(count=held)
            )
        )
    else:
        lines.append(
            esc(
                _(
                    "Their offers are withdrawn and their matches end."
                    " Each coordinator holding one is told."
                )
            )
        )
    keyboard = (
        (Button(_("Yes, take it away"), callbacks.case_step(screen, "revoke", YES)),),
        (Button(_("Cancel"), callbacks.case_step(screen, "revoke", NO)),),
    )
    return Prompt("\n\n".join(lines), keyboard)


def revoked(role: str, programme: Programme, lang: str, handed_back: int, _: Translate) -> Prompt:
    text = _("Done. The {role} role in {programme} is taken away.").format(
        role=role_name(role, _), programme=programme.text(programme.name, lang)
    )
    if role == "coordinator":
        text += " " + _("Referrals back in the queue: {count}.").format(count=handed_back)
    return Prompt(esc(text))


def handed_back(programme: Programme, reference: str, lang: str, _: Translate) -> Prompt:
    """For the coordinators: a referral whose holder lost the role. The reference only."""
    lines = [
        esc(_("Back in the queue")),
        f"{bold(reference)} · {esc(programme.text(programme.name, lang))}",
        esc(_("The coordinator who held it no longer has the role.")),
    ]
    claim = Button(_("Claim"), callbacks.case("claim", reference))
    return Prompt("\n".join(lines), ((claim,),))


# -- caps a person meets ------------------------------------------------------------------------


def relay_capped(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "Thank you for writing. You have sent a lot of messages in the last hour,"
                " so this one was not passed on. Your coordinator has your earlier messages."
                " You can write again in a while."
            )
        )
    )


def joins_capped(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "Too many codes were tried from this account today."
                " Please try again tomorrow, or ask for a new code."
            )
        )
    )
