"""Session times: reading a typed time, turning a local day and time into an instant, when the
reminders and the log are due, and the calendar file for the supporter.

Pure functions of their arguments; the clock is always passed in. Times are typed in the
programme's time zone and stored in UTC. On the spring-forward day a wall time may not exist
(Europe/London skips 01:00-02:00): such a time is refused, so the person is asked again, never
silently moved. On the autumn day a wall time happens twice: the first one is meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar

#: How far ahead the day picker reaches.
DAYS_AHEAD = 14
#: A place typed for an in-person meeting: short, like a café's name and street.
PLACE_MAX = 120

_CLOCK = re.compile(
    r"^(?:kl\.?\s*)?(?P<h>\d{1,2})(?:\s*[:.h]\s*(?P<m>\d{2}))?\s*(?P<ampm>[ap]\.?\s*m\.?)?$"
)
_COMPACT = re.compile(r"^(?P<h>\d{2})(?P<m>\d{2})$")


def parse_time(text: str) -> time | None:
    """A clock time as people type it: 18:30, 18.30, 1830, 18, 6pm, 6:30 pm, kl 18.

    None when it cannot be read (or is not a time of day)."""
    cleaned = " ".join(text.strip().lower().split()).rstrip(".")
    found = _COMPACT.match(cleaned) or _CLOCK.match(cleaned)
    if found is None:
        return None
    hour, minute = int(found["h"]), int(found["m"] or 0)
    ampm = found.groupdict().get("ampm")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def local_start(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant when the local clock shows ``at`` on ``day``; None when that wall time
    does not exist that day (the clocks jump past it). A time that happens twice: the first."""
    wall = datetime.combine(day, at)
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


def days_ahead(now: datetime, zone: ZoneInfo, count: int = DAYS_AHEAD) -> list[date]:
    """The days a session may be planned on: today (local) and the next ones."""
    today = now.astimezone(zone).date()
    return [today + timedelta(days=i) for i in range(count)]


@dataclass(frozen=True)
class Planned:
    """What to queue for one session: reminders (their slot index and due time) and the log."""

    reminders: list[tuple[int, datetime]]
    log_at: datetime


def plan(
    starts_at: datetime, remind_before_hours: list[float], log_after_hours: float, now: datetime
) -> Planned:
    """Reminders ``remind_before_hours`` before the start, except those already past now (a
    session planned for this afternoon gets no "tomorrow" reminder); the log after the start.

    The slot index is the reminder's place in the configured list, so it stays the same
    whenever it is computed (arming twice never queues twice)."""
    reminders = [
        (i, starts_at - timedelta(hours=hours))
        for i, hours in enumerate(remind_before_hours)
        if starts_at - timedelta(hours=hours) > now
    ]
    return Planned(reminders, starts_at + timedelta(hours=log_after_hours))


def calendar_file(
    uid: str,
    starts_at: datetime,
    minutes: int,
    summary: str,
    location: str | None,
    now: datetime,
) -> bytes:
    """An .ics with one event: times in UTC, a neutral summary, and where (if given).

    Nothing else: no description, no organiser, no attendees. Whoever sees it in a calendar
    learns only that there is a meeting."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//peerdoor//sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", starts_at.astimezone(UTC) + timedelta(minutes=minutes))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
