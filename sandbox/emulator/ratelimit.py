"""Telegram's flood limits as sliding windows on the emulator clock."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ApiError, too_many_requests


@dataclass(frozen=True)
class Window:
    """At most `limit` messages in any `seconds`-long window."""

    limit: int
    seconds: float


@dataclass
class RateLimits:
    """Which limits apply; set a window to None to switch that one off.

    Defaults follow the Bot API FAQ: about 30 messages per second overall and 20 per minute
    in a group. The per-private-chat limit (Telegram: "about one per second, short bursts
    tolerated") is off unless given, e.g. `per_private_chat=Window(1, 1.0)`.
    """

    enabled: bool = True
    overall: Window | None = field(default_factory=lambda: Window(30, 1.0))
    per_group: Window | None = field(default_factory=lambda: Window(20, 60.0))
    per_private_chat: Window | None = None
    count_edits: bool = False

    @classmethod
    def off(cls) -> RateLimits:
        """No limits at all (throughput benchmarks)."""
        return cls(enabled=False)


class FloodControl:
    """Counts sent messages and answers 429 past the configured windows."""

    def __init__(self, limits: RateLimits, now: Callable[[], float]) -> None:
        self.limits = limits
        self._now = now
        self._overall: deque[float] = deque()
        self._per_chat: dict[int | str, deque[float]] = defaultdict(deque)

    def _wait(self, stamps: deque[float], window: Window, now: float) -> float:
        while stamps and stamps[0] <= now - window.seconds:
            stamps.popleft()
        if len(stamps) < window.limit:
            return 0.0
        return stamps[len(stamps) - window.limit] + window.seconds - now

    def _chat_window(self, is_group: bool) -> Window | None:
        return self.limits.per_group if is_group else self.limits.per_private_chat

    def check(self, chat_id: int | str, is_group: bool) -> None:
        """Raise the 429 Telegram would give for one more message to `chat_id`."""
        if not self.limits.enabled:
            return
        now = self._now()
        wait = 0.0
        if self.limits.overall is not None:
            wait = self._wait(self._overall, self.limits.overall, now)
        window = self._chat_window(is_group)
        if window is not None:
            wait = max(wait, self._wait(self._per_chat[chat_id], window, now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, too_many_requests(retry_after), retry_after=retry_after)

    def record(self, chat_id: int | str) -> None:
        """Count a message that went out."""
        now = self._now()
        self._overall.append(now)
        self._per_chat[chat_id].append(now)
