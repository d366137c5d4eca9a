"""Failures a test can ask for: errors, held requests, dropped connections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .errors import DEFAULT_DESCRIPTIONS, ApiError, too_many_requests

FaultKind = Literal["error", "timeout", "drop"]


@dataclass
class Call:
    """A request as a fault predicate sees it."""

    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> Any:
        value = self.params.get("chat_id")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return value


@dataclass
class Fault:
    """One armed failure; `triggered` counts how often it fired."""

    method: str  # Bot API method name, or "*" for any method but getUpdates
    kind: FaultKind = "error"
    status: int = 500
    description: str | None = None
    retry_after: int | None = None
    times: int = 1
    hold: float = 10.0  # seconds a "timeout" keeps the request open
    deliver: bool = False  # carry the request out before failing (did it go through?)
    chat_id: int | str | None = None
    when: Callable[[Call], bool] | None = None
    triggered: int = 0

    @property
    def remaining(self) -> int:
        return self.times - self.triggered

    def matches(self, call: Call) -> bool:
        if self.remaining <= 0:
            return False
        if self.method == "*":
            if call.method.lower() == "getupdates":
                return False
        elif self.method.lower() != call.method.lower():
            return False
        if self.chat_id is not None and call.chat_id != self.chat_id:
            return False
        return self.when is None or self.when(call)

    def error(self) -> ApiError:
        """The error response for kind="error"."""
        if self.status == 429:
            retry_after = self.retry_after or 1
            description = self.description or too_many_requests(retry_after)
            return ApiError(429, description, retry_after=retry_after)
        description = self.description or DEFAULT_DESCRIPTIONS.get(self.status, "Error")
        return ApiError(self.status, description, retry_after=self.retry_after)


class FaultPlan:
    """The armed faults, consumed in the order they were armed."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def take(self, call: Call) -> Fault | None:
        for fault in self.faults:
            if fault.matches(call):
                fault.triggered += 1
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()
