"""Peer support groups as the config describes them, and their recurring schedule.

A group meets on a rule in the programme's time zone, such as "every second Tuesday 18:30" or
"first Monday of the month 18:00". This module reads such a rule (English or Swedish, as an
operator or a coordinator types it), validates a group's config entry, and turns the rule into
the UTC instants of its meetings.

Pure: no clock, no files. It imports nothing of the rest of the package, so the programme model
(`conversations/forms.py`) can use it.

Summer time: a wall time the clocks skip that day (01:30 on the spring-forward night in
Europe/London) is read as the clock time before the jump, so the meeting is at 02:30 local; a
wall time that happens twice is the first one. Each meeting is computed from its local date, so
"18:30" stays 18:30 all year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

MAX_CAPACITY = 50
#: How far ahead `meetings` ever looks (so a rule that cannot happen never loops).
HORIZON_DAYS = 400

_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "måndag": 0,
    "tisdag": 1,
    "onsdag": 2,
    "torsdag": 3,
    "fredag": 4,
    "lördag": 5,
    "söndag": 6,
}
_WEEKLY_EVERY = {
    "": 1,
    "week": 1,
    "other": 2,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
}
_NTH = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "last": -1,
    "första": 1,
    "andra": 2,
    "tredje": 3,
    "fjärde": 4,
    "sista": -1,
}
_DAY = r"(?P<day>[a-zåäö]+?)(?:s|en|arna)?"
_TIME = r"(?:at\s+|kl\.?\s*)?(?P<h>\d{1,2})[:.](?P<m>\d{2})"
_PATTERNS = (
    # every Tuesday 18:30 / every second Tuesday at 18:30 / every other Tuesday
    re.compile(
        rf"^every\s+(?:(?P<every>other|second|2nd|third|3rd|fourth|4th)\s+)?{_DAY}\s+{_TIME}$"
    ),
    # every 2 weeks on Tuesday at 18:30
    re.compile(rf"^every\s+(?P<n>[1-4])\s+weeks?\s+on\s+{_DAY}\s+{_TIME}$"),
    # first Monday of the month 18:00 / last Friday of each month at 19:00
    re.compile(
        rf"^(?:every\s+|the\s+)?(?P<nth>first|1st|second|2nd|third|3rd|fourth|4th|last)\s+{_DAY}"
        rf"\s+(?:of|in)\s+(?:the|each|every)\s+month\s+{_TIME}$"
    ),
    # varje tisdag 18.30 / varannan tisdag kl 18.30
    re.compile(rf"^(?P<sv>varje|varannan)\s+{_DAY}\s+{_TIME}$"),
    # första måndagen i månaden 18.00 / sista fredagen i varje månad kl 19
    re.compile(
        rf"^(?P<nth>första|andra|tredje|fjärde|sista)\s+{_DAY}\s+i\s+(?:varje\s+)?månad(?:en)?"
        rf"\s+{_TIME}$"
    ),
)


@dataclass(frozen=True)
class Rule:
    """When a group meets: a weekday and a local time, every ``every_weeks`` weeks, or (with
    ``nth``) the nth weekday of each month (1-4, or -1 for the last)."""

    weekday: int
    at: time
    every_weeks: int = 1
    nth: int | None = None


def parse_rule(text: str) -> Rule | None:
    """A schedule as people write it; None when it cannot be read.

    "every Tuesday 18:30", "every second Tuesday 18:30" (fortnightly), "every 2 weeks on
    Tuesday at 18:30", "first Monday of the month 18:00", "last Friday of each month at 19:00";
    in Swedish "varje tisdag 18.30", "varannan tisdag kl 18.30", "första måndagen i månaden
    18.00"."""
    cleaned = " ".join(text.strip().lower().split()).rstrip(".")
    for pattern in _PATTERNS:
        found = pattern.match(cleaned)
        if found is None:
            continue
        groups = found.groupdict()
        weekday = _weekday(groups["day"])
        hour, minute = int(groups["h"]), int(groups["m"])
        if weekday is None or hour > 23 or minute > 59:
            return None
        at = time(hour, minute)
        if groups.get("nth"):
            return Rule(weekday, at, nth=_NTH[groups["nth"]])
        if groups.get("n"):
            return Rule(weekday, at, every_weeks=int(groups["n"]))
        if groups.get("sv"):
            return Rule(weekday, at, every_weeks=2 if groups["sv"] == "varannan" else 1)
        return Rule(weekday, at, every_weeks=_WEEKLY_EVERY[groups.get("every") or ""])
    return None


def _weekday(word: str) -> int | None:
    """A weekday's name, also as Swedish writes it in a rule ("tisdagen", "tisdagar")."""
    if word in _WEEKDAYS:
        return _WEEKDAYS[word]
    for suffix in ("s", "en", "arna", "ar"):
        if word.endswith(suffix) and word[: -len(suffix)] in _WEEKDAYS:
            return _WEEKDAYS[word[: -len(suffix)]]
    return None


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The nth (or last, -1) ``weekday`` of a month; None if the month has no such day."""
    if nth > 0:
        first = date(year, month, 1)
        day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
        return day if day.month == month else None
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def days(rule: Rule, first: date, until: date) -> list[date]:
    """The local days the rule meets on, from ``first`` (the first meeting's day, or any day
    before it) up to and including ``until``."""
    found: list[date] = []
    if rule.nth is None:
        day = first + timedelta(days=(rule.weekday - first.weekday()) % 7)
        while day <= until:
            found.append(day)
            day += timedelta(weeks=rule.every_weeks)
        return found
    year, month = first.year, first.month
    while date(year, month, 1) <= until:
        nth = _nth_weekday(year, month, rule.weekday, rule.nth)
        if nth is not None and first <= nth <= until:
            found.append(nth)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``at`` local time on ``day`` (a skipped wall time: the clock time
    before the jump; a doubled one: the first)."""
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def meetings(
    rule: Rule, first: date, zone: ZoneInfo, after: datetime, count: int
) -> list[datetime]:
    """The next ``count`` meetings (UTC) that start after ``after``."""
    start = max(first, after.astimezone(zone).date() - timedelta(days=1))
    if rule.nth is None and start > first:
        # keep the fortnight's rhythm: step from the first meeting, not from today
        weeks = (start - first).days // 7
        start = first + timedelta(weeks=weeks - weeks % rule.every_weeks)
    found: list[datetime] = []
    until = start + timedelta(days=HORIZON_DAYS)
    for day in days(rule, start, until):
        at = instant(day, rule.at, zone)
        if at > after:
            found.append(at)
            if len(found) == count:
                break
    return found


Setting = Literal["online", "in_person"]
_Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,24}$")]
_Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
_Text = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class GroupConfig(BaseModel):
    """A peer support group the operator defines in the config (`[[programmes.groups]]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: _Slug = Field(description="Short and never renamed once people joined it.")
    name: dict[_Lang, _Text] = Field(
        description="What members see, per language. Keep it neutral: it may show on a screen."
    )
    language: _Lang = Field(description="The language the group meets in.")
    setting: Setting = Field(description="'online' or 'in_person'.")
    venue: dict[_Lang, _Text] | None = Field(
        default=None,
        description="Where an in-person group meets, per language (sent to members privately).",
    )
    area: str = Field(
        default="",
        max_length=120,
        description="Words matched against the person's area when groups are ranked.",
    )
    link: Annotated[str, StringConstraints(pattern=r"^https://\S{4,300}$")] | None = Field(
        default=None,
        description="An online group's meeting link (https). Sent privately to each member "
        "shortly before a meeting, never in a group chat.",
    )
    schedule: str = Field(
        description="When it meets, in the programme's time zone: 'every Tuesday 18:30', "
        "'every second Tuesday 18:30', 'first Monday of the month 18:00'."
    )
    first_meeting: date = Field(description="The day of the first meeting (YYYY-MM-DD).")
    capacity: int = Field(default=12, ge=2, le=MAX_CAPACITY, description="Places in the group.")
    facilitators: list[int] = Field(
        default_factory=list,
        max_length=5,
        description="Telegram user ids of the supporters who run it.",
    )

    @field_validator("schedule")
    @classmethod
    def _readable(cls, value: str) -> str:
        if parse_rule(value) is None:
            raise ValueError(
                f"schedule {value!r} cannot be read; write it like 'every second Tuesday 18:30' "
                "or 'first Monday of the month 18:00'"
            )
        return value

    @model_validator(mode="after")
    def _where(self) -> GroupConfig:
        if self.setting == "in_person" and not self.venue:
            raise ValueError(f"group {self.id!r}: an in-person group needs a 'venue'")
        if self.setting == "online" and self.venue:
            raise ValueError(f"group {self.id!r}: an online group has a 'link', not a 'venue'")
        if self.setting == "in_person" and self.link:
            raise ValueError(f"group {self.id!r}: 'link' is for online groups")
        rule = self.rule
        if rule.nth is None and self.first_meeting.weekday() != rule.weekday:
            raise ValueError(
                f"group {self.id!r}: first_meeting {self.first_meeting} is not on the "
                "schedule's weekday"
            )
        return self

    @property
    def rule(self) -> Rule:
        rule = parse_rule(self.schedule)
        assert rule is not None  # checked by the validator
        return rule
