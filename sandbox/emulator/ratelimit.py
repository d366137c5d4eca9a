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


@dataclass(frozen=True)
class Bucket:
    """A token bucket: `per_second` sustained, up to `burst` at once after a quiet spell."""

    per_second: float
    burst: int


@dataclass
class RateLimits:
    """Which limits apply; set a window to None to switch that one off.

    Defaults follow the Bot API FAQ: about 30 messages per second overall and 20 per minute
    in a group. The per-private-chat limit (Telegram: "about one per second, short bursts
    tolerated") is off unless given, e.g. `per_private_chat=Window(1, 1.0)`, or as a bucket
    that allows short bursts, `per_private_chat=Bucket(1.0, 3)`.
    """

    enabled: bool = True
    overall: Window | None = field(default_factory=lambda: Window(30, 1.0))
    per_group: Window | None = field(default_factory=lambda: Window(20, 60.0))
    per_private_chat: Window | Bucket | None = None
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
        self._buckets: dict[int | str, tuple[float, float]] = {}  # chat: (tokens, at)

    def _bucket_wait(self, chat_id: int | str, bucket: Bucket, now: float) -> float:
        tokens = self._tokens(chat_id, bucket, now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / bucket.per_second

    def _tokens(self, chat_id: int | str, bucket: Bucket, now: float) -> float:
        tokens, at = self._buckets.get(chat_id, (float(bucket.burst), now))
        return min(float(bucket.burst), tokens + (now - at) * bucket.per_second)

    def _wait(self, stamps: deque[float], window: Window, now: float) -> float:
        while stamps and stamps[0] <= now - window.seconds:
            stamps.popleft()
        if len(stamps) < window.limit:
            return 0.0
        return stamps[len(stamps) - window.limit] + window.seconds - now

    def _chat_window(self, is_group: bool) -> Window | Bucket | None:
        return self.limits.per_group if is_group else self.limits.per_private_chat

    def check(self, chat_id: int | str, is_group: bool) -> None:
        """Raise the 429 Telegram would give for one more message to `chat_id`."""
        if not self.limits.enabled:
            return
        now = self._now()
        overall = 0.0
        if self.limits.overall is not None:
            overall = self._wait(self._overall, self.limits.overall, now)
        chat = 0.0
        window = self._chat_window(is_group)
        if isinstance(window, Bucket):
            chat = self._bucket_wait(chat_id, window, now)
        elif window is not None:
            chat = self._wait(self._per_chat[chat_id], window, now)
        wait = max(overall, chat)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            limit = "overall" if overall >= chat else ("group" if is_group else "private chat")
            raise ApiError(
                429, too_many_requests(retry_after), retry_after=retry_after, limit=limit
            )

    def record(self, chat_id: int | str) -> None:
        """Count a message that went out."""
        now = self._now()
        self._overall.append(now)
        self._per_chat[chat_id].append(now)
        bucket = self.limits.per_private_chat
        if isinstance(bucket, Bucket):
            self._buckets[chat_id] = (self._tokens(chat_id, bucket, now) - 1.0, now)
