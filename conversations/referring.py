"""Referrals made on someone's behalf (issue 13): by a professional through the bot, or taken by
a coordinator by phone or in person for someone without Telegram. Pure: texts and small rules.

The person referred has no Telegram account here: every later step that would message them
becomes a task for the referral's holder ("call them about ..."), never with a health detail.
"""

from __future__ import annotations

from typing import Literal, get_args

from conversations import callbacks
from conversations.draft import Answer
from conversations.forms import Programme, Questionnaire
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, bold, esc, italic

#: How a person told a coordinator that they agree to a referral (kept with their consent).
AgreedBy = Literal["phone", "in_person"]
AGREED_BY: tuple[str, ...] = get_args(AgreedBy)
#: What the holder of an offline person's referral is asked to do, per outbox kind's task.
Task = Literal[
    "news",
    "message",
    "checkin",
    "door",
    "feedback",
    "meeting",
    "reminder",
    "talk",
    "agreement",
    "going",
    "talk_stopped",
    "assessment_meeting",
    "group",
    "group_meeting",
    "group_link",
]
#: The discreet updates a professional may get: once each.
Update = Literal["received", "contacted"]
#: The choices a coordinator asks on the phone (no Telegram: discreet and silent mean nothing).
PHONE_CHOICES: tuple[str, ...] = ("checkins", "feedback")


def split_answers(
    questionnaire: Questionnaire, answers: dict[str, Answer]
) -> tuple[dict[str, Answer], dict[str, Answer]]:
    """(the person's answers, the professional's own details): sealed under different keys.
    The 'the person agreed' answer is neither: it is kept as the person's consent."""
    roles = {q.id: q.role for q in questionnaire.form}
    person = {k: v for k, v in answers.items() if roles.get(k) not in ("referrer", "consent")}
    referrer = {k: v for k, v in answers.items() if roles.get(k) == "referrer"}
    return person, referrer


# -- the professional -------------------------------------------------------------------------


def consent_question(purpose: str | None, _: Translate) -> str | None:
    """The question under a questionnaire's privacy notice (None: the person's own)."""
    if purpose == "professional":
        return _("Do you agree that we keep these details to take your referral?")
    return None


def not_agreed(_: Translate) -> Prompt:
    """The professional said the person has not agreed: nothing is kept."""
    return Prompt(
        "\n\n".join(
            [
                esc(_("Thank you for telling us.")),
                esc(_("We can only take a referral when the person agrees to it.")),
                esc(_("Please talk with them first. Then send /start to begin again.")),
                esc(_("We have not kept anything you typed.")),
            ]
        )
    )


def sent_by_professional(
    programme: Programme, language: str, reference: str, updates: bool, _: Translate
) -> list[Prompt]:
    """What the professional reads after sending: the reference and what happens next."""
    lines = [
        esc(_("Thank you. The referral has been sent.")),
        esc(_("Its reference is {reference}. Please keep it.")).format(
            reference=f"<b>{esc(reference)}</b>"
        ),
        esc(
            _("We will get in touch with them {when}, in the way you told us.").format(
                when=programme.text(programme.response_time, language)
            )
        ),
        esc(
            _(
                "We will send you one short message when a coordinator has it, and one when "
                "we have spoken with them. We never pass on what they tell us."
            )
            if updates
            else _("What they tell us stays between them and us.")
        ),
    ]
    return [Prompt("\n\n".join(lines))]


def update_for_professional(reference: str, update: str, _: Translate) -> Prompt:
    """One discreet update: the reference and one fact, never anything the person said."""
    fact = {
        "received": _("A coordinator has the referral now."),
        "contacted": _("We have been in touch with the person."),
    }.get(update, "")
    text = "\n\n".join(
        [esc(_("News about a referral you made")), f"<b>{esc(reference)}</b>", esc(fact)]
    )
    if update != "received":
        return Prompt(text)
    return Prompt(text, ((Button(_("No more updates, thank you"), updates_off(reference)),),))


def updates_off(reference: str) -> str:
    """The professional's one press to stop the updates about one referral."""
    return f"pu:off:{reference}"


def parse_updates_off(data: str | None) -> str | None:
    """The reference of a ``pu:off:<reference>`` press; None for anything else."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[:2] != ["pu", "off"]:
        return None
    reference = parts[2]
    if not 0 < len(reference) <= 20 or not all(
        c.isascii() and (c.isalnum() or c == "-") for c in reference
    ):
        return None
    return reference.upper()


def updates_stopped(reference: str, _: Translate) -> Prompt:
    """After the press: the update, and that nothing more comes."""
    return Prompt(
        "\n\n".join(
            [
                esc(_("News about a referral you made")),
                f"<b>{esc(reference)}</b>",
                esc(_("OK. You will get no more updates about this referral.")),
            ]
        )
    )


# -- the coordinator taking a referral by phone ----------------------------------------------


def how_agreed(programme: Programme, _: Translate, screen: int = 0) -> Prompt:
    """/newreferral: first, how the person agreed (after hearing the privacy notice).
    ``screen``: its number on the coordinator's counter, so that a press once the form has
    moved on is stale."""
    text = "\n\n".join(
        [
            bold(_("A new referral for someone without Telegram")),
            esc(
                _(
                    "First read them the privacy notice of {programme} (version {version}). "
                    "Then ask if they agree that we keep their answers."
                ).format(
                    programme=programme.text(programme.name, programme.default_language),
                    version=programme.privacy_version,
                )
            ),
            italic(_("How did they agree?")),
        ]
    )
    choices = (
        (_("They agreed on the phone"), "phone"),
        (_("They agreed in person"), "in_person"),
        (_("They did not agree"), "no"),
    )
    buttons = tuple(
        (Button(label, callbacks.staff_referral(how, programme.id, screen)),)
        for label, how in choices
    )
    return Prompt(text, buttons)


def confirm_erase(reference: str, _: Translate) -> Prompt:
    text = "\n\n".join(
        [
            bold(
                _("Erase everything about the person of {reference}?").format(reference=reference)
            ),
            esc(
                _(
                    "Only do this when they asked for it. Their referral, answers, notes and "
                    "history go for good. It cannot be undone."
                )
            ),
        ]
    )
    yes = Button(_("Yes, erase everything"), callbacks.staff_referral("erase", reference))
    return Prompt(text, ((yes,),))


def erased(reference: str, _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("Done. Everything about the person of {reference} is erased.").format(
                reference=reference
            )
        )
    )


def no_such_referral(_: Translate) -> Prompt:
    return Prompt(esc(_("I could not find that referral. Please check the reference.")))


def has_telegram(_: Translate) -> Prompt:
    return Prompt(
        esc(_("This person uses Telegram: they can send /mydata or /delete to me themselves."))
    )


def choices_on_the_phone(_: Translate) -> list[str]:
    """The choices step of a phone referral: what to ask the person, in the coordinator's words."""
    return [
        esc(_("Two questions to ask them")),
        esc(
            _(
                "Check-ins: would they like a short call now and then while they wait? "
                "Feedback: may we ask a few questions about our service at the end? "
                "Tick what they said yes to."
            )
        ),
    ]


def not_taken(_: Translate) -> Prompt:
    return Prompt(esc(_("All right. Nothing was kept. We can only refer someone who agrees.")))


def taken_by_phone(reference: str, _: Translate) -> list[Prompt]:
    return [
        Prompt(
            "\n\n".join(
                [
                    esc(_("Thank you. The referral is in the queue.")),
                    esc(_("Its reference is {reference}.")).format(
                        reference=f"<b>{esc(reference)}</b>"
                    ),
                    esc(
                        _(
                            "We never write to them in Telegram. When they need to hear from us, "
                            "whoever holds the referral gets a task to call them."
                        )
                    ),
                ]
            )
        )
    ]


def newreferral_usage(programmes: list[str], _: Translate) -> Prompt:
    return Prompt(
        esc(
            _("Please add the programme, for example: /newreferral {example}").format(
                example=programmes[0]
            )
        )
        + "\n"
        + esc(_("Programmes: {names}").format(names=", ".join(programmes)))
    )


def only_coordinators(_: Translate) -> Prompt:
    return Prompt(esc(_("Sorry, only a coordinator of the programme can do that here.")))


def only_private(_: Translate) -> Prompt:
    return Prompt(esc(_("Please send this command to me in a private chat.")))


def form_in_progress(_: Translate) -> Prompt:
    return Prompt(esc(_("You have a form open. Please send it or cancel it first.")))


# -- marks and tasks for the coordinators ---------------------------------------------------------


def route_line(route: str, by: str | None, _: Translate) -> str | None:
    """How a referral came, for the coordinators: None for a person's own."""
    if route == "professional":
        return esc(_("Referred by a professional"))
    if route == "staff":
        return esc(_("Taken by phone by {name}").format(name=by or _("a coordinator")))
    return None


def made_for_them(route: str, by: str | None, _: Translate) -> list[str]:
    """The lines a coordinator's view of a referral made on the person's behalf adds."""
    line = route_line(route, by, _)
    if line is None:
        return []
    return [line, esc(_("They have no Telegram: contact them by phone or post only."))]


def task_for_holder(reference: str, task: str, _: Translate) -> Prompt:
    """Instead of a Telegram message to someone without Telegram: a task for the holder."""
    what = {
        "news": _("tell them where their referral stands"),
        "message": _("pass on your message"),
        "checkin": _("a short check-in, if they want one"),
        "door": _("let them know the door stays open"),
        "feedback": _("ask how the support went"),
        "meeting": _("tell them about their meeting with a supporter"),
        "reminder": _("remind them of their meeting"),
        "talk": _("tell them their supporter wrote to them: the supporter can call them instead"),
        "agreement": _("read them the confidentiality agreement and ask if they agree"),
        "going": _("ask how it is going with their supporter"),
        "talk_stopped": _("tell them their supporter stopped the messages through the bot"),
        "assessment_meeting": _("tell them the time and place of their assessment meeting"),
        "group": _("tell them about their place in a peer support group"),
        "group_meeting": _("tell them about their next group meeting"),
        "group_link": _("give them the way to join the online group meeting"),
    }.get(task, _("a next step"))
    return Prompt(
        "\n\n".join(
            [
                esc(_("A task for you")),
                esc(_("Please call {reference} about this: {what}.")).format(
                    reference=f"<b>{esc(reference)}</b>", what=esc(what)
                ),
                italic(
                    _("They have no Telegram. Use the phone number or address in the referral.")
                ),
            ]
        )
    )
