"""Sessions: what the supporter and the coordinator see while planning one, what the person is
told, the reminders, and the one-tap log afterwards.

The planner's own screens (day, time, online or a place, check) are a dialog: their buttons are
the engine's (``m2:<screen>:<action>:<engagement>[:<day>]``, conversations/engine.py), so a
press on any screen but the one the planner shows now is stale. Buttons that act on an
engagement or a meeting wherever they are (plan one, list them, cancel or log one, reminders)
are ``m:<action>[:<id>[:<arg>]]``. Both carry engagement ids and session ids only, never
what anyone typed. Anything that may show on a lock screen starts with a neutral line: no
service or health words.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date

from conversations import engine
from conversations.i18n import Translate
from conversations.prompts import Button, Keyboard, Prompt, esc, italic, rows

PREFIX = "m"
#: The ``pending`` values of the planner's state (its "meeting" frame).
ASK_TIME, ASK_PLACE = "session:time", "session:place"
CONFIRM, ASK_NOTE = "session:ok", "session:note"
OUTCOME_CODES = {"h": "happened", "n": "missed", "c": "concern"}


def data(action: str, *args: str | int) -> str:
    text = ":".join([PREFIX, action, *(str(a) for a in args)])
    if len(text.encode()) > 64:  # telegram.constants.InlineKeyboardButtonLimit
        raise ValueError(f"callback data over 64 bytes: {text!r}")
    return text


@dataclass(frozen=True)
class Press:
    action: str
    target: str = ""  # an engagement id or a session id, by action
    arg: str = ""


def parse(raw: str | None) -> Press | None:
    if not raw or len(raw.encode()) > 64:
        return None
    parts = raw.split(":")
    if parts[0] != PREFIX or len(parts) < 2 or len(parts) > 4 or not parts[1]:
        return None
    return Press(parts[1], *parts[2:])


# -- what is being planned (kept sealed in the planner's "meeting" frame) ----------------------


@dataclass
class Draft:
    pending: str
    engagement: str
    day: str = ""  # ISO date, local to the programme
    time: str = ""  # HH:MM, local
    online: bool = False
    place: str = ""
    session: int = 0  # for ASK_NOTE: the session the concern is about

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Draft | None:
        if not raw:
            return None
        found = json.loads(raw)
        pending = str(found.get("pending", ""))
        if not pending.startswith("session:"):
            return None
        return cls(
            pending,
            str(found.get("engagement", "")),
            str(found.get("day", "")),
            str(found.get("time", "")),
            bool(found.get("online", False)),
            str(found.get("place", "")),
            int(found.get("session", 0) or 0),
        )


@dataclass(frozen=True)
class Where:
    """Where they meet: online, or a place (sealed under the person's key in storage)."""

    online: bool
    place: str = ""

    def to_bytes(self) -> bytes:
        return json.dumps({"online": self.online, "place": self.place}).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Where:
        found = json.loads(raw or b"{}")
        return cls(bool(found.get("online", False)), str(found.get("place", "")))


def where_text(where: Where, _: Translate) -> str:
    return _("Online") if where.online else where.place


# -- dates as people read them ----------------------------------------------------------------


def day_label(day: date, today: date, lang: str, _: Translate) -> str:
    if day == today:
        return _("Today")
    if (day - today).days == 1:
        return _("Tomorrow")
    return str(format_date(day, "EEE d MMM", locale=lang))


def date_text(day: date, lang: str) -> str:
    return str(format_date(day, "EEEE d MMMM", locale=lang))


def when_text(starts_at: datetime, zone: ZoneInfo, lang: str, _: Translate) -> str:
    local = starts_at.astimezone(zone)
    return _("{day} at {time}").format(
        day=date_text(local.date(), lang), time=local.strftime("%H:%M")
    )


def step(screen: int, action: str, engagement_id: str, *args: str) -> str:
    """A button of the planner's screen number `screen` (the engine's format)."""
    return engine.button("meeting", screen, action, engagement_id, *args)


def _cancel_row(engagement_id: str, screen: int, _: Translate) -> tuple[Button, ...]:
    return (Button(_("Cancel"), step(screen, "q", engagement_id)),)


# -- planning ---------------------------------------------------------------------------------


def plan_row(engagement_id: str, _: Translate) -> tuple[Button, ...]:
    """The buttons under a matched referral (coordinator) or a hand-over (supporter)."""
    return (
        Button(_("Plan a session"), data("p", engagement_id)),
        Button(_("Meetings"), data("l", engagement_id)),
    )


def pick_day(
    engagement_id: str, reference: str, days: list[date], lang: str, _: Translate, *, screen: int
) -> Prompt:
    today = days[0]
    buttons = [
        Button(
            day_label(d, today, lang, _), step(screen, "d", engagement_id, d.strftime("%Y%m%d"))
        )
        for d in days
    ]
    return Prompt(
        esc(_("A new meeting with {reference}.").format(reference=reference))
        + "\n\n"
        + esc(_("Which day?")),
        (*rows(buttons, 3), _cancel_row(engagement_id, screen, _)),
    )


def ask_time(engagement_id: str, day: str, _: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(_("What time on {day}?").format(day=day))
        + "\n\n"
        + esc(_("Please type it like this: 18:30")),
        (
            (Button(_("Pick another day"), step(screen, "p", engagement_id)),),
            _cancel_row(engagement_id, screen, _),
        ),
    )


def time_unreadable(engagement_id: str, _: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(_("Sorry, I could not read that time. Please type it like this: 18:30")),
        (_cancel_row(engagement_id, screen, _),),
    )


def time_missing(engagement_id: str, day: str, _: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(
            _(
                "The clocks change on {day}, so that time does not happen. "
                "Please type another time."
            ).format(day=day)
        ),
        (_cancel_row(engagement_id, screen, _),),
    )


def time_passed(engagement_id: str, _: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(_("That time has already gone. Please type a later time, or pick another day.")),
        (
            (Button(_("Pick another day"), step(screen, "p", engagement_id)),),
            _cancel_row(engagement_id, screen, _),
        ),
    )


def choose_where(engagement_id: str, _: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(_("Will you meet online or in person?")),
        (
            (
                Button(_("Online"), step(screen, "o", engagement_id)),
                Button(_("In person"), step(screen, "i", engagement_id)),
            ),
            _cancel_row(engagement_id, screen, _),
        ),
    )


def ask_place(engagement_id: str, _: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(_("Where will you meet? Please type the place, like a café and its street.")),
        (_cancel_row(engagement_id, screen, _),),
    )


def place_too_long(engagement_id: str, _: Translate, *, screen: int) -> Prompt:
    return Prompt(
        esc(_("That is a bit long. Please keep it under {n} letters.").format(n=120)),
        (_cancel_row(engagement_id, screen, _),),
    )


def confirm(engagement_id: str, when: str, where: Where, _: Translate, *, screen: int) -> Prompt:
    return Prompt(
        "\n".join(
            [
                esc(_("Please check:")),
                "",
                esc(when),
                esc(where_text(where, _)),
                "",
                esc(_("Is this right?")),
            ]
        ),
        (
            (Button(_("Yes, save it"), step(screen, "s", engagement_id)),),
            (Button(_("Change it"), step(screen, "p", engagement_id)),),
            _cancel_row(engagement_id, screen, _),
        ),
    )


def saved(session_id: int, when: str, by_supporter: bool, _: Translate) -> Prompt:
    if by_supporter:
        next_steps = _("We will remind you before it, and tell the person the time.")
    else:
        next_steps = _("We will remind the supporter before it, and tell the person the time.")
    return Prompt(
        esc(_("Saved: {when}.").format(when=when)) + "\n\n" + esc(next_steps),
        ((Button(_("Cancel this meeting"), data("cx", session_id)),),),
    )


def planning_stopped(_: Translate) -> Prompt:
    return Prompt(esc(_("OK, nothing was saved.")))


def not_now(_: Translate) -> Prompt:
    return Prompt(
        esc(_("Sorry, you cannot plan a meeting for this person now."))
        + "\n\n"
        + esc(_("Only their supporter, or the coordinator who holds their form, can."))
    )


# -- lists and cancelling ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Someone a supporter supports, as the list shows them."""

    engagement_id: str
    reference: str
    next_meeting: str | None


def my_people(people: list[Person], _: Translate) -> Prompt:
    if not people:
        return Prompt(
            esc(_("You are not supporting anyone right now."))
            + "\n\n"
            + esc(_("When you accept a hand-over, the person shows here."))
        )
    lines = [esc(_("The people you support:")), ""]
    buttons: list[tuple[Button, ...]] = []
    for p in people:
        upcoming = p.next_meeting or _("no meeting planned")
        lines.append(f"• {esc(p.reference)}: {esc(upcoming)}")
        buttons.append(
            (
                Button(
                    _("Plan: {reference}").format(reference=p.reference),
                    data("p", p.engagement_id),
                ),
                Button(_("Meetings"), data("l", p.engagement_id)),
            )
        )
    return Prompt("\n".join(lines), tuple(buttons))


def meetings(
    engagement_id: str,
    reference: str,
    upcoming: list[tuple[int, str]],
    _: Translate,
    end: Button | None = None,
) -> Prompt:
    """The meetings still to come; a Cancel button for each (and, for the supporter, "Support
    has ended")."""
    title = esc(_("Meetings with {reference}:").format(reference=reference))
    if not upcoming:
        body = esc(_("No meetings planned yet."))
    else:
        body = "\n".join(f"• {esc(when)}" for _id, when in upcoming)
    buttons: Keyboard = tuple(
        (Button(_("Cancel {when}").format(when=when), data("cx", sid)),) for sid, when in upcoming
    )
    return Prompt(
        f"{title}\n\n{body}",
        (
            *buttons,
            (Button(_("Plan a session"), data("p", engagement_id)),),
            *(((end,),) if end is not None else ()),
        ),
    )


def confirm_cancel(session_id: int, when: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Cancel the meeting on {when}?").format(when=when)),
        (
            (Button(_("Yes, cancel it"), data("cy", session_id)),),
            (Button(_("No, keep it"), data("keep")),),
        ),
    )


def cancelled(when: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("Done. The meeting on {when} is cancelled.").format(when=when))
        + "\n\n"
        + esc(_("No reminders will be sent for it, and the person will be told."))
    )


def kept(_: Translate) -> Prompt:
    return Prompt(esc(_("OK, the meeting stays as it is.")))


def gone(_: Translate) -> Prompt:
    return Prompt(esc(_("This meeting is not planned any more.")))


# -- for the supporter, later -----------------------------------------------------------------


def planned_for_supporter(
    session_id: int, reference: str, when: str, where: Where, _: Translate
) -> Prompt:
    """A coordinator planned a meeting for the supporter."""
    return Prompt(
        "\n".join(
            [
                esc(_("A new meeting is in your diary.")),
                "",
                esc(when),
                esc(where_text(where, _)),
                esc(_("With: {reference}").format(reference=reference)),
                "",
                esc(_("We will remind you before it.")),
            ]
        ),
        ((Button(_("Cancel this meeting"), data("cx", session_id)),),),
    )


def supporter_reminder(
    session_id: int, reference: str, when: str, where: Where, _: Translate
) -> Prompt:
    """The caption of the reminder with the calendar file."""
    return Prompt(
        "\n".join(
            [
                esc(_("A reminder: you have a meeting on {when}.").format(when=when)),
                esc(where_text(where, _)),
                esc(_("With: {reference}").format(reference=reference)),
                "",
                esc(_("Tap the file to add it to your calendar.")),
            ]
        ),
        ((Button(_("Cancel this meeting"), data("cx", session_id)),),),
    )


def ask_log(session_id: int, reference: str, when: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("About your meeting on {when}.").format(when=when))
        + "\n\n"
        + esc(_("Did the meeting with {reference} happen?").format(reference=reference)),
        (
            (Button(_("It happened"), data("lg", session_id, "h")),),
            (Button(_("It did not happen"), data("lg", session_id, "n")),),
            (Button(_("I have a concern"), data("lg", session_id, "c")),),
        ),
    )


def logged(outcome: str, session_id: int, _: Translate) -> Prompt:
    if outcome == "concern":
        return Prompt(
            esc(_("Thank you for telling us. The coordinator knows now and will get in touch."))
            + "\n\n"
            + esc(_("If you like, type a short note for them now. Or tap No note.")),
            ((Button(_("No note"), data("nn", session_id)),),),
        )
    if outcome == "missed":
        return Prompt(esc(_("Thank you, noted. You can plan a new time with /sessions.")))
    return Prompt(esc(_("Thank you, noted.")))


def already_logged(_: Translate) -> Prompt:
    return Prompt(esc(_("This meeting is noted already. Thank you.")))


def note_passed_on(_: Translate) -> Prompt:
    return Prompt(esc(_("Thank you. Your note is with the coordinator.")))


def no_note(_: Translate) -> Prompt:
    return Prompt(esc(_("OK. The coordinator will get in touch with you.")))


# -- for the coordinator ----------------------------------------------------------------------


def concern_for_holder(reference: str, _: Translate) -> Prompt:
    """At once, and never the words: the reference and what to do."""
    return Prompt(
        esc(_("Please look at {reference} soon.").format(reference=reference))
        + "\n\n"
        + esc(_("The supporter has a concern after a meeting. Please get in touch with them."))
    )


def note_for_holder(reference: str, text: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("A note from the supporter about {reference}:").format(reference=reference))
        + "\n\n"
        + italic(text)
    )


# -- for the person ---------------------------------------------------------------------------


def time_set(session_id: int, when: str, where: Where, reminders: bool, _: Translate) -> Prompt:
    """A time is set. Neutral first line; the details after it."""
    lines = [
        esc(_("A time is set for your next meeting.")),
        "",
        esc(when),
        esc(where_text(where, _)),
        "",
        esc(_("If this time does not suit you, just type here.")),
    ]
    if reminders:
        return Prompt("\n".join(lines))
    lines += ["", esc(_("Would you like a short reminder before each meeting?"))]
    return Prompt("\n".join(lines), ((Button(_("Yes, remind me"), data("r1", session_id)),),))


def time_off(when: str, _: Translate) -> Prompt:
    return Prompt(
        esc(_("A change of plan."))
        + "\n\n"
        + esc(_("The meeting on {when} is not going ahead.").format(when=when))
        + "\n\n"
        + esc(_("We will be in touch about a new time. You can also type here."))
    )


def referrer_reminder(when: str, where: Where, _: Translate) -> Prompt:
    return Prompt(
        "\n".join(
            [
                esc(_("A short reminder: you have a meeting on {when}.").format(when=when)),
                esc(where_text(where, _)),
            ]
        ),
        ((Button(_("No more reminders"), data("r0")),),),
    )


def reminders_on(_: Translate) -> Prompt:
    return Prompt(
        esc(_("Good. We will send you a short reminder before each meeting."))
        + "\n\n"
        + esc(_("You can stop them at any time with the button under a reminder."))
    )


def reminders_need_consent(_: Translate) -> Prompt:
    return Prompt(
        esc(_("To send you reminders, we need your OK for check-ins and reminders."))
        + "\n\n"
        + esc(_("You can give it with /privacy, then tap the button again."))
    )


def reminders_off(_: Translate) -> Prompt:
    return Prompt(esc(_("Done. No more meeting reminders.")))


def calendar_summary(_: Translate) -> str:
    """The event's title in the calendar file: nothing about the service."""
    return _("Meeting")


def parse_day(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def parse_clock(text: str) -> time | None:
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None
