"""What happens when a questionnaire is sent: one handler per purpose.

The intake dialog (conversations/intake.py) asks any of a programme's questionnaires the same
way; its Submission names the purpose (``Programme.purpose`` or the draft's own). The handler
runs in the update's transaction, beside the draft's deletion, and returns what the sender reads
once that transaction is committed. To add a purpose: add it to ``Purpose`` in
conversations/forms.py, write ``async def handler(uow, sender, sub, env) -> Submitted`` in a
module of its own (its types from bot/services/submitting.py), and add one line to ``HANDLERS``
below.
"""

from __future__ import annotations

from bot.delivery import calendar
from bot.services import applications, preferences, referring
from bot.services.submitting import (
    Handler,
    SubmitEnv,
    Submitted,
    answers_bytes,
    count_reported,
    hand_over,
)
from conversations import screens
from conversations.draft import Draft
from conversations.intake import Submission
from storage import Person, Unit

__all__ = ["HANDLERS", "Handler", "SubmitEnv", "Submitted"]


async def referral(uow: Unit, sender: Person, sub: Submission, env: SubmitEnv) -> Submitted:
    """The person's own referral form: a referral in the queue, the coordinators told."""
    now = env.now
    programme = env.programme(sub)
    created = await uow.referrals.create(
        sender,
        sub.programme,
        answers_bytes(sub.answers),
        urgent=sub.urgent,
        now=now,
        source=sub.source,  # sealed, with a keyed tag for the report; never logged
    )
    await hand_over(uow, programme, created, now)
    await count_reported(uow, programme, sub.questionnaire, sub.answers, now)
    prefs = await preferences.load(uow, sender)
    prefs.language = sub.language
    for purpose in ("checkins", "feedback"):
        given = sub.choices.get(purpose, False)
        prefs.record(purpose, given, programme.privacy_version, now)
    prefs.discreet = sub.choices.get("discreet", True)
    prefs.silent = sub.choices.get("silent", False)
    await preferences.save(uow, sender, prefs, now)
    await calendar.arm_waiting(uow, programme, created, prefs, now)  # if they agreed
    _ = env.translator(sub.language)
    sent = Draft(
        programme=sub.programme, language=sub.language, answers=sub.answers, choices=sub.choices
    )  # what they sent, shown under the reference (the review's place)
    prompts = screens.submitted(programme, sub.language, created.reference, _, sent=sent)
    return Submitted(prompts, created.reference)


#: One handler per purpose (conversations/forms.py ``Purpose``, and "phone").
HANDLERS: dict[str, Handler] = {
    "referral": referral,
    "volunteer": applications.submitted,
    "professional": referring.professional,
    "phone": referring.phone,
}
