"""A meeting for the initial assessment (issue #15 item 3), planned with the meeting planner
(conversations/meeting_plan.py) by the referral's holder while it is at "Assessing". Pure.

The planner's target is ``A<reference>`` (a supporter's meetings use the engagement id): the
buttons are the planner's own (``m:<action>:A<reference>``). The outbox rows reuse the session
kinds with the slot ``a<meeting id>`` (``a<id>:<n>`` for the n-th reminder), so the holder gets
the reminders a supporter gets and the person the same discreet news and reminders.
"""

from __future__ import annotations

from conversations import sessions
from conversations.i18n import Translate
from conversations.prompts import Button, Prompt, esc
from conversations.sessions import Where

TARGET = "A"
SLOT = "a"


def target(reference: str) -> str:
    return f"{TARGET}{reference}"


def reference_of(planner_target: str) -> str | None:
    """The referral's reference, if the planner's target is an assessment meeting's. A
    supporter's target is an engagement id (8 letters and digits, which may begin with "A"); a
    reference always has its dash ("PD-…"), so only "A" and a dashed reference is one."""
    if not planner_target.startswith(TARGET) or "-" not in planner_target:
        return None
    if len(planner_target) > 21:
        return None
    return planner_target[len(TARGET) :] or None


def slot(meeting_id: int, reminder: int | None = None) -> str:
    return f"{SLOT}{meeting_id}" if reminder is None else f"{SLOT}{meeting_id}:{reminder}"


def meeting_of(row_slot: str | None) -> int | None:
    """The assessment meeting a row's slot names ("a12", "a12:0"), else None."""
    head = (row_slot or "").split(":")[0]
    if not head.startswith(SLOT) or not head[1:].isdigit() or len(head) > 10:
        return None
    return int(head[1:])


def plan_row(reference: str, _: Translate) -> tuple[Button, ...]:
    """Under a referral at "Assessing", for its holder."""
    return (Button(_("Plan the assessment meeting"), sessions.data("p", target(reference))),)


def saved(meeting_id: int, when: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Saved: {when}.").format(when=when))
        + "\n\n"
        + esc(_("We will remind you before it, and tell the person the time.")),
        ((Button(_("Cancel this meeting"), sessions.data("ax", meeting_id)),),),
    )


def confirm_cancel(meeting_id: int, when: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Cancel the meeting on {when}?").format(when=when)),
        (
            (Button(_("Yes, cancel it"), sessions.data("ay", meeting_id)),),
            (Button(_("No, keep it"), sessions.data("keep")),),
        ),
    )


def holder_reminder(reference: str, when: str, where: Where, _: Translate) -> Prompt:
    """The caption of the holder's reminder, with the calendar file."""
    return Prompt(
        "\n".join(
            [
                esc(_("A reminder: you have a meeting on {when}.").format(when=when)),
                esc(sessions.where_text(where, _)),
                esc(_("With: {reference}").format(reference=reference)),
                esc(_("It is the meeting for their assessment.")),
                "",
                esc(_("Tap the file to add it to your calendar.")),
            ]
        )
    )


def time_set(meeting_id: int, when: str, where: Where, reminders: bool, _: Translate) -> Prompt:
    """The person: a time is set. Neutral first line; the same words as for any meeting."""
    shown = sessions.time_set(0, when, where, True, _)
    if reminders:
        return shown
    ask = esc(_("Would you like a short reminder before each meeting?"))
    return Prompt(
        f"{shown.text}\n\n{ask}",
        ((Button(_("Yes, remind me"), sessions.data("ra", meeting_id)),),),
    )
