"""When a scheduled message may go out: quiet hours, lateness, and the check-in calendar.

Pure functions of their arguments (an instant, a time zone, a policy); the clock is always
passed in. Instants are timezone-aware and compared in UTC; quiet hours are wall-clock times in
the recipient's zone, so they follow daylight saving: 21:00 is 21:00 local in winter and summer.

Quiet hours, precisely: an instant is quiet when its local wall time ``t`` lies in
``[start, end)`` (a window may cross midnight: 21:00-09:00). A message due in quiet hours goes at
the first later instant that is not quiet. On the spring-forward day a wall time may not exist
(Europe/London skips 01:00-02:00): a window ending at 01:30 then ends at 02:00, when the clocks
jump past it. On the autumn day a wall time happens twice (01:00-02:00 is repeated): a window
ending at 01:30 ends at the first 01:30; a window covering the repeated hour covers both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

#: Never postpone further than this, whatever a time zone does (Samoa once skipped a day).
_MAX_STEPS = 4


@dataclass(frozen=True)
class QuietWindow:
    """Local wall times: nothing is sent from ``start`` until ``end`` (may cross midnight)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")

    def covers(self, wall: time) -> bool:
        wall = wall.replace(tzinfo=None, fold=0)
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    @property
    def length(self) -> timedelta:
        """How long the window lasts on a day without a clock change."""
        day = date(2000, 1, 1)
        start, end = datetime.combine(day, self.start), datetime.combine(day, self.end)
        return end - start if end > start else end + timedelta(days=1) - start


def is_quiet(at: datetime, zone: ZoneInfo, quiet: QuietWindow | None) -> bool:
    return quiet is not None and quiet.covers(at.astimezone(zone).time())


def next_allowed(at: datetime, zone: ZoneInfo, quiet: QuietWindow | None) -> datetime:
    """The first instant at or after ``at`` that is outside quiet hours (``at`` itself if it is).

    The result is in UTC. It is never earlier than ``at``, never quiet, and at most the window's
    length (plus any clock change) later."""
    at = at.astimezone(UTC)
    if quiet is None:
        return at
    for _ in range(_MAX_STEPS):
        local = at.astimezone(zone)
        if not quiet.covers(local.time()):
            return at
        day = local.date()
        if quiet.start > quiet.end and local.time().replace(fold=0) >= quiet.start:
            day += timedelta(days=1)  # in the evening part of a window that crosses midnight
        at = max(at, _wall_to_instant(datetime.combine(day, quiet.end), zone, not_before=at))
    return at


def _wall_to_instant(wall: datetime, zone: ZoneInfo, not_before: datetime) -> datetime:
    """When the local clock first shows ``wall`` (or, in a spring-forward gap, first passes it),
    at or after ``not_before``."""
    candidates = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant >= not_before:
            candidates.append(instant)
    if candidates:
        return min(candidates)
    # The wall time does not exist: find when the clocks jumped past it, to the second.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the jump
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # after it
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return max(high.replace(microsecond=0), not_before)


# -- lateness --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """How a kind of scheduled message behaves in time.

    ``stale_after``: a message more than this late is dropped, not sent (a reminder for
    something that has passed); None sends it however late (a check-in still makes sense).
    ``quiet``: held back during the recipient's quiet hours.
    ``at_most_once``: after an ambiguous send (a timeout, or the bot killed while sending) the
    message is not sent again; a missed check-in is better than a doubled one.
    """

    stale_after: timedelta | None = None
    quiet: bool = False
    at_most_once: bool = False


#: Notices for coordinators and relayed messages: sent however late, any time of day, and sent
#: again after an ambiguous failure (each is harmless twice).
IMMEDIATE = Timing()
#: News for a referrer: however late, but not in their quiet hours.
NEWS = Timing(quiet=True)
#: Check-ins: however late (once), not in quiet hours, never twice.
CHECKIN = Timing(quiet=True, at_most_once=True)
#: A reminder of a moment (a session at 18:00): pointless once the moment is near or gone.
REMINDER = Timing(stale_after=timedelta(minutes=30), quiet=False, at_most_once=True)

Verdict = Literal["send", "drop"] | datetime


def on_late(timing: Timing, due_at: datetime, now: datetime) -> Literal["send", "drop"]:
    """A row that is due (perhaps long overdue, after downtime): send it, or drop it."""
    if timing.stale_after is not None and now - due_at > timing.stale_after:
        return "drop"
    return "send"


def plan(
    timing: Timing, due_at: datetime, now: datetime, zone: ZoneInfo, quiet: QuietWindow | None
) -> Verdict:
    """What to do with a due row now: "send", "drop", or the instant to send it instead."""
    if on_late(timing, due_at, now) == "drop":
        return "drop"
    if timing.quiet:
        later = next_allowed(now, zone, quiet)
        if later > now:
            return later
    return "send"


# -- the check-in calendar -------------------------------------------------------------------


def waiting_due(submitted_at: datetime, slot: int, after: timedelta, every: timedelta) -> datetime:
    """When waiting check-in number ``slot`` (0, 1, 2 ...) is due."""
    return submitted_at + after + slot * every


def next_waiting(
    submitted_at: datetime,
    now: datetime,
    after: timedelta,
    every: timedelta,
    previous: int | None = None,
) -> tuple[int, datetime]:
    """The next waiting check-in: (slot, due).

    The first is due ``after`` the form was sent; then one every ``every``. After one was sent
    (``previous``), the next is the first later slot at least half a period away from ``now``,
    so a check-in sent late after downtime is not followed at once by the one after it. With no
    ``previous`` (arming, or resuming after /stop), the first slot not yet passed."""
    if previous is None:
        slot = 0
        gap = timedelta(0)
    else:
        slot = previous + 1
        gap = every / 2
    earliest = now + gap
    due = waiting_due(submitted_at, slot, after, every)
    if due < earliest:
        behind = (earliest - due) / every
        slot += int(behind) + (0 if behind == int(behind) else 1)
        due = waiting_due(submitted_at, slot, after, every)
    return slot, due
