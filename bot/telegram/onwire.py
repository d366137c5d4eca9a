"""Knowing the moment a request goes on the wire, for messages that must never be sent twice.

The rate limiter may hold a request back for a while; a crash during that wait loses nothing,
since nothing was sent. The delivery worker wants to commit "this row is being sent" as late as
possible: just before the bytes leave, after the limiter let the request through. It sets a hook
in a context variable around its send; this request class calls it (once) before the first HTTP
request of that send. Without a hook it is PTB's ordinary HTTPXRequest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import HTTPXRequest, RequestData

Hook = Callable[[], Awaitable[None]]


@dataclass
class OnWire:
    """One send: the hook to run before its first request, and whether it ran."""

    hook: Hook
    ran: bool = False


_current: ContextVar[OnWire | None] = ContextVar("peerdoor_on_wire", default=None)


@contextlib.contextmanager
def sending(wire: OnWire | None) -> Iterator[None]:
    """Within this block, ``wire.hook`` is awaited once, right before the first request leaves
    (nothing happens with None)."""
    token = _current.set(wire)
    try:
        yield
    finally:
        _current.reset(token)


async def going_on_wire() -> None:
    """Run the current send's hook, once, before its first request leaves (any HTTP client)."""
    wire = _current.get()
    if wire is not None and not wire.ran:
        wire.ran = True
        await wire.hook()


class OnWireRequest(HTTPXRequest):
    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        await going_on_wire()
        return await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
