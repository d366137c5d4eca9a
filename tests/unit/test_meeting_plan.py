"""The meeting planner as a pure dialog: day, time, where, check, save."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.i18n import load_catalog
from conversations import meeting_plan
from conversations.i18n import Catalog
from conversations.meeting_plan import CONFIRM, WHERE, Context
from conversations.sessions import ASK_PLACE, ASK_TIME, Where

CATALOG: Catalog = load_catalog()
_ = CATALOG.translator("en")
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 26, 9, 0, tzinfo=UTC)  # a Friday; the clocks go forward on Sunday 28th
CTX = Context("ENG1", "PD-ABC123", LONDON, NOW, "en", screen=7)


def test_a_meeting_is_planned_step_by_step_and_saved_once() -> None:
    started = meeting_plan.start(CTX, _)
    assert started.draft is not None and started.prompts[0].text.startswith("A new meeting")
    day = meeting_plan.press(started.draft, "d", "20270327", CTX, _)
    assert day.draft is not None and day.draft.pending == ASK_TIME
    assert day.replace is not None and "What time on Saturday 27 March?" in day.replace.text
    timed = meeting_plan.typed(day.draft, " 6.30pm ", CTX, _)
    assert timed.draft is not None and (timed.draft.pending, timed.draft.time) == (WHERE, "18:30")
    placed = meeting_plan.press(timed.draft, "i", "", CTX, _)
    assert placed.draft is not None and placed.draft.pending == ASK_PLACE
    typed = meeting_plan.typed(placed.draft, "Café Blue, High St", CTX, _)
    assert typed.draft is not None and typed.draft.pending == CONFIRM
    assert "Café Blue, High St" in typed.prompts[0].text
    saved = meeting_plan.press(typed.draft, "s", "", CTX, _)
    assert saved.draft is None and saved.save is not None
    assert saved.save.starts_at == datetime(2027, 3, 27, 18, 30, tzinfo=LONDON)
    assert saved.save.where == Where(False, "Café Blue, High St")


def test_a_time_the_clocks_skip_is_asked_again_kindly() -> None:
    draft = meeting_plan.press(meeting_plan.start(CTX, _).draft, "d", "20270328", CTX, _).draft
    assert draft is not None
    skipped = meeting_plan.typed(draft, "01:30", CTX, _)  # 01:00-02:00 does not happen
    assert skipped.changed is False and skipped.draft == draft
    assert "clocks change" in skipped.prompts[0].text
    unreadable = meeting_plan.typed(draft, "soon", CTX, _)
    assert unreadable.changed is False and "could not read" in unreadable.prompts[0].text


def test_a_time_that_went_by_while_checking_goes_back_to_the_time() -> None:
    draft = meeting_plan.press(meeting_plan.start(CTX, _).draft, "d", "20270326", CTX, _).draft
    assert draft is not None
    timed = meeting_plan.typed(draft, "10:00", CTX, _)
    online = meeting_plan.press(timed.draft, "o", "", CTX, _)
    assert online.draft is not None and online.draft.online
    later = Context("ENG1", "PD-ABC123", LONDON, datetime(2027, 3, 26, 11, 0, tzinfo=UTC), "en", 7)
    gone = meeting_plan.press(online.draft, "s", "", later, _)
    assert gone.save is None and gone.draft is not None and gone.draft.pending == ASK_TIME
    assert "already gone" in gone.prompts[0].text


def test_stale_and_foreign_presses_change_nothing() -> None:
    draft = meeting_plan.start(CTX, _).draft
    other = Context("ENG2", "PD-XYZ789", LONDON, NOW, "en", 7)
    for outcome in (
        meeting_plan.press(draft, "d", "20270327", other, _),  # another engagement's planner
        meeting_plan.press(draft, "d", "20300101", CTX, _),  # a day never offered
        meeting_plan.press(draft, "s", "", CTX, _),  # save before a time was typed
        meeting_plan.press(None, "o", "", CTX, _),  # nothing being planned
    ):
        assert outcome.changed is False and outcome.save is None and outcome.notice
    assert date(2027, 3, 27) in CTX.days


def test_typed_text_while_a_button_is_expected_shows_that_step_again() -> None:
    draft = meeting_plan.start(CTX, _).draft
    assert draft is not None
    again = meeting_plan.typed(draft, "Tuesday", CTX, _)
    assert again.changed is False and again.prompts[0].text.startswith("A new meeting")
    place = meeting_plan.typed(
        meeting_plan.press(
            meeting_plan.typed(
                meeting_plan.press(draft, "d", "20270327", CTX, _).draft,  # type: ignore[arg-type]
                "18:00",
                CTX,
                _,
            ).draft,
            "i",
            "",
            CTX,
            _,
        ).draft,  # type: ignore[arg-type]
        "x" * 121,
        CTX,
        _,
    )
    assert place.changed is False and "a bit long" in place.prompts[0].text
