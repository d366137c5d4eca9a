"""`peerdoor run` with performance levers switched on, to measure them in the same run.

    PEERDOOR_BENCH_LEVERS=uvloop+aiohttp+ack+nosync python -m benchmarks.levers

Each lever is applied before the bot's modules are imported, then `bot.ops.cli main(["run"])`:

- `uvloop`: the event loop from uvloop.
- `aiohttp`: PTB's requests (getUpdates too) through `bot.aiohttp_request.AiohttpRequest`.
- `ack`: answerCallbackQuery is sent in the background: the handler goes on at once.
- `nosync`: SQLite `synchronous = NORMAL` (WAL: no fsync at commit). NOT durable: only the
  upper bound of what sharing fsyncs between transactions (group commit) could gain.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

LEVERS = frozenset({"uvloop", "aiohttp", "ack", "nosync"})


def apply(levers: set[str]) -> None:
    unknown = levers - LEVERS
    if unknown:
        raise SystemExit(f"unknown levers {sorted(unknown)}; known: {sorted(LEVERS)}")
    if "uvloop" in levers:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if "nosync" in levers:
        from storage import db

        connect = db.connect

        async def unsynced(*args: Any, **kwargs: Any) -> Any:
            conn = await connect(*args, **kwargs)
            await conn.execute("PRAGMA synchronous = NORMAL")
            return conn

        db.connect = unsynced  # type: ignore[assignment]
    if "ack" in levers:
        from telegram import CallbackQuery

        answer = CallbackQuery.answer
        pending: set[asyncio.Task[Any]] = set()

        async def answer_alongside(self: CallbackQuery, *args: Any, **kwargs: Any) -> bool:
            task = asyncio.ensure_future(answer(self, *args, **kwargs))
            pending.add(task)
            task.add_done_callback(_finished(pending))
            return True

        CallbackQuery.answer = answer_alongside  # type: ignore[method-assign]
    if "aiohttp" in levers:
        from telegram.ext import ApplicationBuilder

        from bot.telegram import app
        from bot.telegram.aiohttp_request import AiohttpRequest

        class Builder(ApplicationBuilder):  # type: ignore[type-arg]
            def request(self, request: Any) -> Any:
                return super().request(AiohttpRequest(connection_pool_size=256))

            def build(self) -> Any:
                self.get_updates_request(AiohttpRequest(connection_pool_size=1, read_timeout=5))
                return super().build()

        app.ApplicationBuilder = Builder  # type: ignore[misc]


def _finished(pending: set[asyncio.Task[Any]]) -> Any:
    def done(task: asyncio.Task[Any]) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            print(f"answerCallbackQuery failed: {task.exception()!r}", file=sys.stderr)

    return done


def main() -> int:
    named = os.environ.get("PEERDOOR_BENCH_LEVERS", "").replace("+", ",")
    levers = {x for x in named.split(",") if x}
    apply(levers)
    from bot.ops.cli import main as cli

    return cli(["run"])


if __name__ == "__main__":
    sys.exit(main())
