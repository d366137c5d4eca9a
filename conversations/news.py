"""What a referrer hears after sending their form. Discreet: the first line is always neutral,
because it may show on a lock screen; no diagnosis or service words in it."""

from __future__ import annotations

from conversations.forms import Programme, Resource
from conversations.i18n import Translate
from conversations.prompts import Prompt, bold, esc


def picked_up(programme: Programme, language: str, _: Translate) -> Prompt:
    text = "\n\n".join(
        [
            esc(_("Hello, we have some news for you.")),
            esc(
                _(
                    "Someone from our team has picked up your form. They will contact you the way "
                    "you asked."
                )
            ),
            esc(_("You can write to them here: just type a message.")),
        ]
    )
    return Prompt(text)


def deferred(
    programme: Programme, resources: list[Resource], language: str, _: Translate
) -> Prompt:
    lines = [
        esc(_("Hello, we have some news for you.")),
        esc(
            _(
                "Thank you for talking with us. We think other support may help you more right "
                "now. This is not a no: you are welcome to come back to us at any time."
            )
        ),
    ]
    if resources:
        lines.append(esc(_("These services may help:")))
        lines += [
            f"{bold(programme.text(r.name, language))}\n{esc(programme.text(r.details, language))}"
            for r in resources
        ]
    lines.append(esc(_("When you feel ready, just send /start.")))
    return Prompt("\n\n".join(lines))


def matched(programme: Programme, language: str, _: Translate) -> Prompt:
    return Prompt(
        "\n\n".join(
            [
                esc(_("Hello, we have some news for you.")),
                esc(
                    _(
                        "We have found someone for you to talk to. Your contact at our team "
                        "will tell you more."
                    )
                ),
            ]
        )
    )


def closed(programme: Programme, language: str, _: Translate) -> Prompt:
    return Prompt(
        "\n\n".join(
            [
                esc(_("Hello, we have some news for you.")),
                esc(_("Your form is now closed. Thank you for getting in touch.")),
                esc(_("You are welcome to come back at any time: just send /start.")),
            ]
        )
    )


def message_from_team(text: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("You have a new message."))
        + "\n\n"
        + esc(text)
        + "\n\n"
        + esc(_("To reply, just type here."))
    )


def message_passed_on(_: Translate) -> Prompt:
    return Prompt(esc(_("Thank you. We have passed your message on.")))


def message_kept(_: Translate) -> Prompt:
    return Prompt(
        esc(
            _(
                "Thank you. We have kept your message. The person who picks up your "
                "form will read it."
            )
        )
    )


def status(
    reference: str, status: str, programme: Programme, language: str, _: Translate
) -> Prompt:
    text = {
        "submitted": _("Your form is waiting for someone from our team to pick it up."),
        "claimed": _("Someone from our team has picked up your form."),
        "contacted": _("Someone from our team is in touch with you."),
        "assessing": _("Someone from our team is in touch with you."),
        "deferred": _("We have suggested other support for now. You can come back any time."),
        "matched": _("We have found someone for you to talk to."),
        "declined": _("Your form is closed. You can come back any time."),
        "withdrawn": _("Your form is closed. You can come back any time."),
        "closed": _("Your form is closed. You can come back any time."),
    }.get(status, "")
    return Prompt(
        "\n\n".join(
            [
                esc(_("Your reference is {reference}.").format(reference=reference)),
                esc(text),
                esc(programme.text(programme.emergency, language)),
            ]
        )
    )
