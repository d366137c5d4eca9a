"""Counting failures per account without storing anything about the account.

Failed /join attempts are counted here, in memory, by Telegram id and UTC day: a wrong code
must not create a person row (nor an audit row per attempt, nor a WAL checkpoint for an
erasure). The counts go when the day changes, and with a restart (which an account cannot
cause); the cap is `limits.failed_joins_per_day` in the config.
"""

from __future__ import annotations

from datetime import date, datetime


class DailyCounter:
    """Failures per key for the current UTC day; ``capped`` once ``cap`` is reached."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._day: date | None = None
        self._counts: dict[int, int] = {}

    def _today(self, now: datetime) -> dict[int, int]:
        if now.date() != self._day:  # a new day: yesterday's counts are forgotten
            self._day, self._counts = now.date(), {}
        return self._counts

    def capped(self, key: int, now: datetime) -> bool:
        return self._today(now).get(key, 0) >= self.cap

    def fail(self, key: int, now: datetime) -> int:
        """Count one failure; returns how many today, this one included."""
        counts = self._today(now)
        counts[key] = counts.get(key, 0) + 1
        return counts[key]
