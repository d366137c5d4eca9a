"""The scheduling policy: quiet hours (with both daylight saving changes), lateness after
downtime, and the check-in calendar. Pure functions with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.kinds import CHECKIN, CONTACT_REMINDER, DOOR_OPEN, NEWS, NOTICE, timing
from conversations.scheduling import (
    REMINDER,
    QuietWindow,
    is_quiet,
    next_allowed,
    next_waiting,
    on_late,
    plan,
    waiting_due,
)

LONDON = ZoneInfo("Europe/London")
NIGHT = QuietWindow(time(21), time(9))
H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


# -- quiet hours ------------------------------------------------------------------------------


def test_outside_quiet_hours_nothing_moves() -> None:
    noon = local(LONDON, 2025, 6, 10, 12, 0)
    assert next_allowed(noon, LONDON, NIGHT) == noon
    assert next_allowed(noon, LONDON, None) == noon


def test_evening_and_early_morning_move_to_nine_local() -> None:
    # Summer (BST, UTC+1): 09:00 local is 08:00 UTC.
    assert next_allowed(local(LONDON, 2025, 6, 10, 22, 30), LONDON, NIGHT) == utc(
        2025, 6, 11, 8, 0
    )
    assert next_allowed(local(LONDON, 2025, 6, 11, 3, 0), LONDON, NIGHT) == utc(2025, 6, 11, 8)
    # Winter (GMT): 09:00 local is 09:00 UTC.
    assert next_allowed(local(LONDON, 2025, 1, 10, 21, 0), LONDON, NIGHT) == utc(2025, 1, 11, 9)
    # The end is not quiet: 09:00 sharp goes at once.
    nine = local(LONDON, 2025, 1, 11, 9, 0)
    assert next_allowed(nine, LONDON, NIGHT) == nine


def test_a_daytime_window() -> None:
    lunch = QuietWindow(time(12), time(13, 30))
    assert next_allowed(local(LONDON, 2025, 1, 6, 12, 10), LONDON, lunch) == utc(
        2025, 1, 6, 13, 30
    )
    assert not is_quiet(local(LONDON, 2025, 1, 6, 13, 30), LONDON, lunch)


def test_spring_forward_across_the_night() -> None:
    # 30 March 2025: clocks go from 01:00 GMT to 02:00 BST. A night window still ends at
    # 09:00 local, which is now 08:00 UTC: the night was an hour shorter.
    evening = local(LONDON, 2025, 3, 29, 22, 0)  # GMT
    assert next_allowed(evening, LONDON, NIGHT) == utc(2025, 3, 30, 8, 0)


def test_spring_forward_window_ending_in_the_gap() -> None:
    # A window ending at 01:30, which does not exist that night: it ends when the clocks jump
    # to 02:00 BST (01:00 UTC), not an hour later.
    short = QuietWindow(time(23), time(1, 30))
    late = local(LONDON, 2025, 3, 30, 0, 45)  # GMT
    allowed = next_allowed(late, LONDON, short)
    assert allowed == utc(2025, 3, 30, 1, 0)
    assert allowed.astimezone(LONDON).strftime("%H:%M %Z") == "02:00 BST"


def test_spring_forward_window_starting_in_the_gap() -> None:
    # 01:30-03:00: at 00:59 GMT it is allowed; one second later the clock shows 02:00 BST,
    # inside the window, until 03:00 BST (02:00 UTC).
    window = QuietWindow(time(1, 30), time(3))
    assert not is_quiet(utc(2025, 3, 30, 0, 59), LONDON, window)
    assert next_allowed(utc(2025, 3, 30, 1, 0), LONDON, window) == utc(2025, 3, 30, 2, 0)


def test_autumn_back_across_the_night() -> None:
    # 26 October 2025: 02:00 BST becomes 01:00 GMT. 09:00 local is 09:00 UTC: a longer night.
    evening = local(LONDON, 2025, 10, 25, 22, 0)  # BST, 21:00 UTC
    allowed = next_allowed(evening, LONDON, NIGHT)
    assert allowed == utc(2025, 10, 26, 9, 0)
    assert allowed - evening == timedelta(hours=12)  # 11 hours of wall time, 12 of real time


def test_autumn_window_ending_in_the_repeated_hour() -> None:
    # 01:30 happens twice. Inside the first 01:00-01:30 (BST) the window ends at the first
    # 01:30; inside the second (GMT) at the second.
    short = QuietWindow(time(23), time(1, 30))
    first = local(LONDON, 2025, 10, 26, 1, 10, fold=0)  # 00:10 UTC
    assert next_allowed(first, LONDON, short) == utc(2025, 10, 26, 0, 30)
    second = local(LONDON, 2025, 10, 26, 1, 10, fold=1)  # 01:10 UTC
    assert next_allowed(second, LONDON, short) == utc(2025, 10, 26, 1, 30)


def test_autumn_window_over_the_repeated_hour() -> None:
    # 01:00-02:00 covers the repeated hour both times: two real hours of quiet.
    window = QuietWindow(time(1), time(2))
    start = local(LONDON, 2025, 10, 26, 1, 0, fold=0)  # 00:00 UTC
    assert next_allowed(start, LONDON, window) == utc(2025, 10, 26, 2, 0)


def test_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="different"):
        QuietWindow(time(9), time(9))


ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


@st.composite
def windows(draw: st.DrawFn) -> QuietWindow:
    start = draw(st.times())
    end = draw(
        st.times().filter(lambda t: t.replace(microsecond=0) != start.replace(microsecond=0))
    )
    return QuietWindow(start.replace(microsecond=0), end.replace(microsecond=0))


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=400, deadline=None)
@given(at=instants, window=windows(), zone=st.sampled_from(ZONES))
def test_properties_in_any_zone(at: datetime, window: QuietWindow, zone: str) -> None:
    tz = ZoneInfo(zone)
    allowed = next_allowed(at, tz, window)
    assert allowed >= at  # never earlier than due
    assert not is_quiet(allowed, tz, window)  # never inside quiet hours
    assert allowed - at <= window.length + timedelta(hours=24)  # at most 24h + quiet later
    if not is_quiet(at, tz, window):
        assert allowed == at


@settings(max_examples=300, deadline=None)
@given(at=instants, window=windows())
def test_properties_in_london(at: datetime, window: QuietWindow) -> None:
    allowed = next_allowed(at, LONDON, window)
    assert at <= allowed <= at + window.length + H  # a clock change adds an hour at most
    assert not is_quiet(allowed, LONDON, window)
    # Nothing earlier is allowed: one second before the result is still quiet (or is `at`).
    if allowed > at:
        assert is_quiet(allowed - timedelta(seconds=1), LONDON, window)


# -- lateness ---------------------------------------------------------------------------------


NOW = utc(2025, 6, 10, 12, 0)


def test_late_checkins_and_news_are_still_sent_once() -> None:
    week = timedelta(days=7)
    assert on_late(timing(CHECKIN), NOW - week, NOW) == "send"
    assert on_late(timing(DOOR_OPEN), NOW - week, NOW) == "send"
    assert on_late(timing(NEWS), NOW - week, NOW) == "send"
    assert on_late(timing(NOTICE), NOW - week, NOW) == "send"
    assert timing(CHECKIN).at_most_once and timing(DOOR_OPEN).at_most_once
    assert not timing(NOTICE).at_most_once and not timing(NEWS).at_most_once


def test_a_reminder_past_its_moment_is_dropped() -> None:
    assert on_late(REMINDER, NOW - timedelta(minutes=5), NOW) == "send"
    assert on_late(REMINDER, NOW - timedelta(hours=2), NOW) == "drop"


def test_plan_per_kind() -> None:
    night = local(LONDON, 2025, 6, 10, 23, 0)
    morning = utc(2025, 6, 11, 8, 0)
    assert plan(timing(CHECKIN), night, night, LONDON, NIGHT) == morning
    assert plan(timing(NEWS), night, night, LONDON, NIGHT) == morning
    # Coordinators' notices ignore quiet hours.
    assert plan(timing(NOTICE), night, night, LONDON, NIGHT) == "send"
    assert plan(timing(CONTACT_REMINDER), night, night, LONDON, NIGHT) == "send"
    assert plan(timing(CHECKIN), night, night, LONDON, None) == "send"
    assert plan(REMINDER, night - timedelta(days=1), night, LONDON, NIGHT) == "drop"


# -- the check-in calendar --------------------------------------------------------------------


SENT = utc(2025, 6, 1, 10, 0)
AFTER, EVERY = timedelta(days=7), timedelta(days=14)


def test_first_waiting_checkin_after_n_days() -> None:
    assert next_waiting(SENT, SENT, AFTER, EVERY) == (0, SENT + AFTER)


def test_next_after_a_sent_one() -> None:
    sent_at = waiting_due(SENT, 0, AFTER, EVERY)
    assert next_waiting(SENT, sent_at, AFTER, EVERY, previous=0) == (1, SENT + AFTER + EVERY)


def test_after_downtime_one_late_checkin_then_back_on_the_calendar() -> None:
    # The bot was down from day 6 to day 22: slot 0 (day 7) and slot 1 (day 21) both passed.
    # One late check-in goes at day 22 (as slot 0); the next is not the very next minute (slot
    # 1, day 21, passed) but slot 2 (day 35), at least half a period away.
    back = SENT + timedelta(days=22)
    slot, due = next_waiting(SENT, back, AFTER, EVERY, previous=0)
    assert (slot, due) == (2, SENT + AFTER + 2 * EVERY)
    assert due - back >= EVERY / 2


def test_resuming_takes_the_first_slot_not_passed() -> None:
    resumed = SENT + timedelta(days=30)
    assert next_waiting(SENT, resumed, AFTER, EVERY) == (2, SENT + AFTER + 2 * EVERY)


@settings(max_examples=200, deadline=None)
@given(
    elapsed=st.floats(min_value=0, max_value=400),
    after=st.floats(min_value=0.001, max_value=30),
    every=st.floats(min_value=0.001, max_value=30),
    previous=st.one_of(st.none(), st.integers(min_value=0, max_value=50)),
)
def test_calendar_properties(
    elapsed: float, after: float, every: float, previous: int | None
) -> None:
    now = SENT + timedelta(days=elapsed)
    a, e = timedelta(days=after), timedelta(days=every)
    slot, due = next_waiting(SENT, now, a, e, previous)
    assert due == waiting_due(SENT, slot, a, e)
    assert due >= now if previous is None else due >= now + e / 2 - timedelta(microseconds=1)
    if previous is not None:
        assert slot > previous
    # The first such slot: the one before it was too early (or not allowed).
    if slot > (0 if previous is None else previous + 1):
        earlier = waiting_due(SENT, slot - 1, a, e)
        assert earlier < (now if previous is None else now + e / 2) + timedelta(microseconds=1)
