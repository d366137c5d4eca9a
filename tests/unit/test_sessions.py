"""Sessions, the pure parts: reading a typed time, local times across daylight saving, when the
reminders and the log are due, the calendar file, and the screens' callback data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.delivery import kinds
from conversations import scheduling, session_times, sessions
from conversations.sessions import Draft, Where

LONDON = ZoneInfo("Europe/London")
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def identity(text: str) -> str:
    return text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("18:30", time(18, 30)),
        (" 18.30 ", time(18, 30)),
        ("1830", time(18, 30)),
        ("18", time(18, 0)),
        ("9:05", time(9, 5)),
        ("6pm", time(18, 0)),
        ("6:30 pm", time(18, 30)),
        ("12am", time(0, 0)),
        ("12 p.m.", time(12, 0)),
        ("kl 18", time(18, 0)),
        ("kl. 7.15", time(7, 15)),
        ("18h30", time(18, 30)),
    ],
)
def test_times_are_read_as_people_type_them(typed: str, expected: time) -> None:
    assert session_times.parse_time(typed) == expected


@pytest.mark.parametrize(
    "typed", ["", "tomorrow", "25:00", "18:60", "13pm", "0am", "18:3", "half six", "18:30:00"]
)
def test_unreadable_times_are_refused(typed: str) -> None:
    assert session_times.parse_time(typed) is None


@given(st.integers(0, 23), st.integers(0, 59))
def test_every_clock_time_reads_back(hour: int, minute: int) -> None:
    assert session_times.parse_time(f"{hour:02d}:{minute:02d}") == time(hour, minute)
    assert session_times.parse_time(f"{hour}.{minute:02d}") == time(hour, minute)


@given(st.text(max_size=12))
def test_anything_typed_is_a_time_or_none(typed: str) -> None:
    found = session_times.parse_time(typed)
    assert found is None or isinstance(found, time)


def test_a_time_the_clocks_skip_does_not_exist() -> None:
    # Europe/London, 28 March 2027: 01:00 becomes 02:00.
    spring = date(2027, 3, 28)
    assert session_times.local_start(spring, time(1, 30), LONDON) is None
    assert session_times.local_start(spring, time(0, 59), LONDON) == datetime(
        2027, 3, 28, 0, 59, tzinfo=UTC
    )
    assert session_times.local_start(spring, time(2, 0), LONDON) == datetime(
        2027, 3, 28, 1, 0, tzinfo=UTC
    )
    # Stockholm skips 02:00-03:00 the same night.
    assert session_times.local_start(spring, time(2, 30), STOCKHOLM) is None


def test_a_time_that_happens_twice_means_the_first() -> None:
    # Europe/London, 31 October 2027: 01:00-02:00 happens twice (BST, then GMT).
    autumn = date(2027, 10, 31)
    assert session_times.local_start(autumn, time(1, 30), LONDON) == datetime(
        2027, 10, 31, 0, 30, tzinfo=UTC
    )


def test_summer_and_winter_times_are_stored_in_utc() -> None:
    assert session_times.local_start(date(2027, 7, 1), time(18, 30), LONDON) == datetime(
        2027, 7, 1, 17, 30, tzinfo=UTC
    )
    assert session_times.local_start(date(2027, 1, 7), time(18, 30), LONDON) == datetime(
        2027, 1, 7, 18, 30, tzinfo=UTC
    )


def test_the_day_picker_starts_today_in_the_programmes_zone() -> None:
    # 23:30 UTC on 30 June is already 1 July in Stockholm.
    now = datetime(2027, 6, 30, 23, 30, tzinfo=UTC)
    days = session_times.days_ahead(now, STOCKHOLM)
    assert days[0] == date(2027, 7, 1)
    assert len(days) == 14
    assert days[-1] == date(2027, 7, 14)


def test_reminders_before_and_the_log_after() -> None:
    start = datetime(2027, 5, 10, 17, 0, tzinfo=UTC)
    now = start - timedelta(days=3)
    planned = session_times.plan(start, [24.0, 1.0], 1.5, now)
    assert planned.reminders == [
        (0, datetime(2027, 5, 9, 17, 0, tzinfo=UTC)),
        (1, datetime(2027, 5, 10, 16, 0, tzinfo=UTC)),
    ]
    assert planned.log_at == datetime(2027, 5, 10, 18, 30, tzinfo=UTC)


def test_a_reminder_already_past_when_planning_is_not_queued() -> None:
    start = datetime(2027, 5, 10, 17, 0, tzinfo=UTC)
    planned = session_times.plan(start, [24.0, 1.0], 1.5, start - timedelta(hours=3))
    assert planned.reminders == [(1, datetime(2027, 5, 10, 16, 0, tzinfo=UTC))]  # same slot 1
    assert (
        session_times.plan(start, [24.0, 1.0], 1.5, start - timedelta(minutes=30)).reminders == []
    )


def test_reminders_are_dropped_when_late_and_never_sent_twice() -> None:
    for kind in (kinds.SESSION_REMINDER, kinds.SESSION_REMINDER_REFERRER):
        timing = kinds.timing(kind)
        assert timing == scheduling.REMINDER
        assert kind in kinds.AT_MOST_ONCE
        due = datetime(2027, 5, 10, 16, 0, tzinfo=UTC)
        assert scheduling.on_late(timing, due, due + timedelta(minutes=10)) == "send"
        assert scheduling.on_late(timing, due, due + timedelta(hours=2)) == "drop"
    log = kinds.timing(kinds.SESSION_LOG)
    assert log.stale_after is None and log.at_most_once and not log.quiet
    assert kinds.SESSION_LOG in kinds.AT_MOST_ONCE
    assert kinds.timing(kinds.SESSION_NEWS).quiet  # news for the person waits out quiet hours
    assert kinds.CONCERN not in kinds.AT_MOST_ONCE  # harmless twice: never lost


def test_the_calendar_file_is_neutral_and_in_utc() -> None:
    start = datetime(2027, 7, 1, 17, 30, tzinfo=UTC)
    raw = session_times.calendar_file(
        "session-7-ABCD1234@peerdoor", start, 60, "Meeting", "Café Nero, North St", start
    )
    calendar = icalendar.Calendar.from_ical(raw)
    (event,) = list(calendar.walk("VEVENT"))
    assert str(event["UID"]) == "session-7-ABCD1234@peerdoor"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(hours=1)
    assert str(event["SUMMARY"]) == "Meeting"
    assert str(event["LOCATION"]) == "Café Nero, North St"
    assert b"DTSTART:20270701T173000Z" in raw
    assert b"DESCRIPTION" not in raw and b"ATTENDEE" not in raw and b"ORGANIZER" not in raw


def test_an_online_meeting_has_no_location() -> None:
    start = datetime(2027, 7, 1, 17, 30, tzinfo=UTC)
    raw = session_times.calendar_file("u@peerdoor", start, 45, "Meeting", None, start)
    assert b"LOCATION" not in raw
    assert b"DTEND:20270701T181500Z" in raw


def test_callback_data_carries_ids_only_and_fits() -> None:
    data = sessions.data("d", "ABCD1234", "20270701")
    assert data == "m:d:ABCD1234:20270701"
    assert sessions.parse(data) == sessions.Press("d", "ABCD1234", "20270701")
    assert sessions.parse("m:lg:12:c") == sessions.Press("lg", "12", "c")
    assert sessions.parse("r:view:PD-1") is None
    assert sessions.parse("m") is None
    assert sessions.parse("m:a:b:c:d") is None
    with pytest.raises(ValueError, match="64 bytes"):
        sessions.data("p", "x" * 70)


def test_the_planning_state_round_trips_and_ignores_other_flows() -> None:
    draft = Draft(sessions.ASK_TIME, "ABCD1234", day="2027-07-01")
    assert Draft.from_bytes(draft.to_bytes()) == draft
    assert Draft.from_bytes(b'{"pending": "note", "reference": "PD-1"}') is None
    assert Draft.from_bytes(b'{"pending": "profile:area"}') is None
    assert Draft.from_bytes(None) is None
    assert Where.from_bytes(Where(False, "Library").to_bytes()) == Where(False, "Library")


def test_the_day_picker_has_fourteen_days_and_a_way_out() -> None:
    days = session_times.days_ahead(datetime(2027, 7, 1, 9, tzinfo=UTC), LONDON)
    prompt = sessions.pick_day("ABCD1234", "PD-AAAAAA", days, "en", identity, screen=1)
    labels = [b.label for row in prompt.buttons for b in row]
    assert labels[:3] == ["Today", "Tomorrow", "Sat 3 Jul"]
    assert labels[-1] == "Cancel"
    assert len(labels) == 15
    swedish = sessions.pick_day("ABCD1234", "PD-AAAAAA", days, "sv", identity, screen=1)
    assert [b.label for row in swedish.buttons for b in row][2] == "lör 3 juli"


@pytest.mark.parametrize("language", ["en", "sv"])
def test_what_a_lock_screen_shows_is_neutral(language: str) -> None:
    from bot.i18n import load_catalog
    from tests.unit.test_example_config import REVEALING

    _ = load_catalog().translator(language)
    service = ("peer", "support", "stöd", "kamrat", "coordinator", "samordnar", "session")
    when = sessions.when_text(datetime(2027, 7, 1, 17, 30, tzinfo=UTC), LONDON, language, _)
    firsts = [
        sessions.time_set(1, when, Where(True), False, _),
        sessions.time_off(when, _),
        sessions.referrer_reminder(when, Where(False, "Library"), _),
        sessions.reminders_on(_),
        sessions.reminders_need_consent(_),
        sessions.reminders_off(_),
    ]
    for prompt in firsts:
        first = prompt.text.split("\n")[0].lower()
        assert not any(word in first for word in (*REVEALING, *service)), first
    assert sessions.calendar_summary(_) in ("Meeting", "Möte")
