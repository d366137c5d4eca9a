"""Knowing the moment a request goes on the wire, for messages that must never be sent twice.

The rate limiter may hold a request back for a while; a crash during that wait loses nothing,
since nothing was sent. The delivery worker wants to commit "this row is being sent" as late as
possible: just before the bytes leave, after the limiter let the request through. It sets a hook
around its send (bot.delivery.port.sending); this request class calls it (once) before the first
HTTP request of that send. Without a hook it is PTB's ordinary HTTPXRequest.
"""

from __future__ import annotations

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import HTTPXRequest, RequestData

from bot.delivery.port import on_wire


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
        await on_wire()
        return await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
