"""Planning a meeting, as a dialog: day, time, online or a place, check, save.

Pure: the service (bot/services/sessions.py) loads who is planning for whom, checks a press
against the screen the planner shows (`engine.is_current`), asks `press` or `typed` what to do,
stores the returned draft (the "meeting" frame of the planner's dialog stack),
carries out the `save` effect (the session row, its reminders, the audit entry) and sends the
screens. Nothing here reads a clock, the store or Telegram: `Context` brings what is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from conversations import screens, session_times, sessions
from conversations.i18n import Translate
from conversations.prompts import Prompt
from conversations.sessions import ASK_PLACE, ASK_TIME, CONFIRM, Draft, Where

#: The steps that wait for a button (the typed ones are sessions.ASK_TIME and ASK_PLACE).
DAY, WHERE = "session:day", "session:where"


@dataclass(frozen=True)
class Context:
    """What the planner dialog may know: the engagement, where it is, the time now."""

    engagement: str
    reference: str
    zone: ZoneInfo
    now: datetime
    language: str
    screen: int  # the number a screen shown now takes (the person's next one: DialogState)

    @property
    def days(self) -> list[date]:
        return session_times.days_ahead(self.now, self.zone)


@dataclass(frozen=True)
class Save:
    """The effect of the last step: store a meeting at this time and place."""

    starts_at: datetime
    where: Where


@dataclass
class Outcome:
    """`draft` is the planner's new state (None: planning is over); `changed` whether to store
    it. `prompts` are new messages, `replace` edits the pressed one, `notice` answers a press."""

    draft: Draft | None
    changed: bool = True
    prompts: list[Prompt] = field(default_factory=list)
    replace: Prompt | None = None
    notice: str | None = None
    keep_buttons: bool = False
    save: Save | None = None


def start(ctx: Context, _: Translate) -> Outcome:
    """ "Plan a session" (or "Change it"): which day?"""
    prompt = sessions.pick_day(
        ctx.engagement, ctx.reference, ctx.days, ctx.language, _, screen=ctx.screen
    )
    return Outcome(Draft(DAY, ctx.engagement), prompts=[prompt], keep_buttons=True)


def press(draft: Draft | None, action: str, arg: str, ctx: Context, _: Translate) -> Outcome:
    """A planning button: a day, online or in person, save."""
    if action == "p":
        return start(ctx, _)
    if draft is None or draft.engagement != ctx.engagement:
        return _stale(draft, _)
    if action == "d":
        day = sessions.parse_day(arg)
        if day is None or day not in ctx.days:
            return _stale(draft, _)
        moved = Draft(ASK_TIME, draft.engagement, day=day.isoformat())
        asked = sessions.ask_time(ctx.engagement, _date(day, ctx), _, screen=ctx.screen)
        return Outcome(moved, replace=asked)
    if action == "i" and draft.pending == WHERE:
        asked = sessions.ask_place(ctx.engagement, _, screen=ctx.screen)
        return Outcome(_with(draft, pending=ASK_PLACE), replace=asked)
    if action == "o" and draft.pending == WHERE:
        moved = _with(draft, online=True, place="", pending=CONFIRM)
        return Outcome(moved, replace=confirm(moved, ctx, _))
    if action == "s" and draft.pending == CONFIRM:
        starts_at = starts(draft, ctx.zone)
        if starts_at is None or starts_at <= ctx.now:  # the time went by while they checked
            passed = sessions.time_passed(ctx.engagement, _, screen=ctx.screen)
            return Outcome(_with(draft, pending=ASK_TIME), prompts=[passed])
        return Outcome(None, save=Save(starts_at, Where(draft.online, draft.place)))
    return _stale(draft, _)


def typed(draft: Draft, text: str, ctx: Context, _: Translate) -> Outcome:
    """A typed time or place; any other step shows itself again."""
    text = text.strip()
    if draft.pending == ASK_TIME:
        at = session_times.parse_time(text)
        day = _iso_date(draft.day)
        if at is None or day is None:
            unreadable = sessions.time_unreadable(ctx.engagement, _, screen=ctx.screen)
            return Outcome(draft, changed=False, prompts=[unreadable])
        starts_at = session_times.local_start(day, at, ctx.zone)
        if starts_at is None:  # a time the clocks skip on that day
            prompt = sessions.time_missing(ctx.engagement, _date(day, ctx), _, screen=ctx.screen)
            return Outcome(draft, changed=False, prompts=[prompt])
        if starts_at <= ctx.now:
            passed = sessions.time_passed(ctx.engagement, _, screen=ctx.screen)
            return Outcome(draft, changed=False, prompts=[passed])
        moved = _with(draft, time=at.strftime("%H:%M"), pending=WHERE)
        return Outcome(
            moved, prompts=[sessions.choose_where(ctx.engagement, _, screen=ctx.screen)]
        )
    if draft.pending == ASK_PLACE:
        if not text:
            asked = sessions.ask_place(ctx.engagement, _, screen=ctx.screen)
            return Outcome(draft, changed=False, prompts=[asked])
        if len(text) > session_times.PLACE_MAX:
            too_long = sessions.place_too_long(ctx.engagement, _, screen=ctx.screen)
            return Outcome(draft, changed=False, prompts=[too_long])
        moved = _with(draft, online=False, place=text, pending=CONFIRM)
        return Outcome(moved, prompts=[confirm(moved, ctx, _)])
    return Outcome(draft, changed=False, prompts=[_again(draft, ctx, _)])


def confirm(draft: Draft, ctx: Context, _: Translate) -> Prompt:
    starts_at = starts(draft, ctx.zone)
    assert starts_at is not None  # checked when the time was typed
    when = sessions.when_text(starts_at, ctx.zone, ctx.language, _)
    return sessions.confirm(
        ctx.engagement, when, Where(draft.online, draft.place), _, screen=ctx.screen
    )


def starts(draft: Draft, zone: ZoneInfo) -> datetime | None:
    """When the planned meeting starts, from its day and time in the programme's zone."""
    day, at = _iso_date(draft.day), sessions.parse_clock(draft.time)
    if day is None or at is None:
        return None
    return session_times.local_start(day, at, zone)


def _again(draft: Draft, ctx: Context, _: Translate) -> Prompt:
    """The step that waits for a button, shown again after typed text."""
    if draft.pending == WHERE:
        return sessions.choose_where(ctx.engagement, _, screen=ctx.screen)
    if draft.pending == CONFIRM:
        return confirm(draft, ctx, _)
    return sessions.pick_day(
        ctx.engagement, ctx.reference, ctx.days, ctx.language, _, screen=ctx.screen
    )


def _stale(draft: Draft | None, _: Translate) -> Outcome:
    return Outcome(draft, changed=False, notice=screens.expired_notice(_), keep_buttons=True)


def _with(draft: Draft, **changes: Any) -> Draft:
    return replace(draft, **changes)


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _date(day: date, ctx: Context) -> str:
    return sessions.date_text(day, ctx.language)
