"""PTB's AIORateLimiter, plus Telegram's per-private-chat limit: about one message a second.

Telegram asks bots not to send more than about one message per second to one private chat
("short bursts" allowed) and answers 429 past it. PTB's AIORateLimiter limits groups and the
whole bot, not private chats, and on any 429 it holds back every request of the bot until
retry_after has passed: one quick person could stall everyone. Here each private chat has its
own small bucket (aiolimiter, as AIORateLimiter uses): up to PRIVATE_BURST requests at once,
refilled one a second. Requests without a chat (answerCallbackQuery) are not held back.
Every request with a chat also keeps the overall pace again right before it leaves (see
process_request): after a pause, what queued during it must not leave in one burst. A private
chat's request keeps it only there (one pace point, no slot lost between two).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram._utils.types import JSONDict
from telegram.ext import AIORateLimiter

#: Requests one private chat may take at once; then one per PRIVATE_PERIOD seconds. Telegram
#: tolerates short bursts, but the bot does not spend them: requests paced a second apart can
#: still arrive closer (a busy event loop, a busy machine), and with 2 here the interactions
#: benchmark drew 152 429s from 50 quick people on a busy machine.
PRIVATE_BURST = 1
PRIVATE_PERIOD = 1.0
#: Idle buckets are dropped once there are more than this many (as AIORateLimiter does).
KEEP_BUCKETS = 512


class PrivateChatRateLimiter(AIORateLimiter):
    """Each private chat paced twice with the same bucket: when a request joins the queue for
    the overall limit (so that one chat does not fill that queue), and again just before it
    leaves. The second is needed because the wait in that queue varies: two requests of one
    chat that joined it a second apart can leave it together (after a retry_after pause, all
    queued requests leave at once)."""

    def __init__(
        self,
        *,
        private_burst: int = PRIVATE_BURST,
        private_period: float = PRIVATE_PERIOD,
        pace_private_chats: bool = True,
        **limits: Any,
    ) -> None:
        super().__init__(**limits)
        self._pace_private = pace_private_chats
        rate = limits.get("overall_max_rate", 30)
        period = limits.get("overall_time_period", 1)
        self._overall_leaving = AsyncLimiter(rate, period) if rate else contextlib.nullcontext()
        self._private_burst = private_burst
        self._private_period = private_period
        self._joining: dict[int, AsyncLimiter] = {}
        self._leaving: dict[int, AsyncLimiter] = {}

    def _bucket(self, buckets: dict[int, AsyncLimiter], chat_id: int) -> AsyncLimiter:
        if len(buckets) > KEEP_BUCKETS:
            for key, limiter in list(buckets.items()):
                if key != chat_id and limiter.has_capacity(limiter.max_rate):
                    del buckets[key]
        if chat_id not in buckets:
            buckets[chat_id] = AsyncLimiter(
                self._private_burst, self._private_burst * self._private_period
            )
        return buckets[chat_id]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        chat_id: object = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[call-overload]
        if chat_id is None:  # answerCallbackQuery and the like: no flood limit
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        # AIORateLimiter takes the overall token before it waits out a retry_after pause, so
        # everything queued during a pause leaves at once: the overall pace is kept again here,
        # just before the request leaves.
        overall = self._overall_leaving

        async def leave(*call_args: Any, **call_kwargs: Any) -> bool | JSONDict | list[JSONDict]:
            async with overall:
                return await callback(*call_args, **call_kwargs)

        if not (isinstance(chat_id, int) and chat_id > 0) or not self._pace_private:
            return await super().process_request(
                leave, args, kwargs, endpoint, data, rate_limit_args
            )
        person = chat_id
        leaving = self._bucket(self._leaving, person)

        async def paced(*call_args: Any, **call_kwargs: Any) -> bool | JSONDict | list[JSONDict]:
            async with leaving:  # every attempt, retries included, right before it leaves
                return await leave(*call_args, **call_kwargs)

        # A private chat's request takes the overall pace only once, just before it leaves
        # (`leave`), not also on joining (AIORateLimiter's own, which counts a request as
        # having a chat by its chat_id): two paces of 29/s in a row lose a slot whenever a
        # request waits between them (its chat's second), and sent 27.6 actions/s, not 29.
        unchatted = {key: value for key, value in data.items() if key != "chat_id"}
        async with self._bucket(self._joining, person):
            return await super().process_request(
                paced, args, kwargs, endpoint, unchatted, rate_limit_args
            )
