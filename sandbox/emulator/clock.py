"""The emulator's clock: real time that tests can push forward."""

from __future__ import annotations

import time


class Clock:
    """Wall-clock seconds that flow in real time, plus an offset tests can advance.

    `frozen=True` stops the flow, so only `advance()` moves time (fully deterministic).
    """

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._start = time.time() if start is None else start
        self._origin = time.monotonic()
        self._offset = 0.0
        self.frozen = frozen

    def now(self) -> float:
        """Current emulator time as unix seconds."""
        flowing = 0.0 if self.frozen else time.monotonic() - self._origin
        return self._start + flowing + self._offset

    def advance(self, seconds: float) -> None:
        """Move time forward (message ages, rate-limit windows, callback query expiry)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds
