"""`peerdoor run` with performance levers switched on, to measure them in the same run.

    PEERDOOR_BENCH_LEVERS=uvloop,aiohttp,ack,nosync python -m benchmarks.levers

Each lever is applied before the bot's modules are imported, then `bot.cli main(["run"])`:

- `uvloop`: the event loop from uvloop.
- `aiohttp`: PTB's requests (getUpdates too) through `bot.aiohttp_request.AiohttpRequest`.
- `ack`: a press is answered (answerCallbackQuery) while the reply goes out, not before it.
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
        from bot import delivery

        delivery.deliver = _deliver_acking_alongside  # type: ignore[assignment]
    if "aiohttp" in levers:
        from telegram.ext import ApplicationBuilder

        from bot import app
        from bot.aiohttp_request import AiohttpRequest

        class Builder(ApplicationBuilder):  # type: ignore[type-arg]
            def request(self, request: Any) -> Any:
                return super().request(AiohttpRequest(connection_pool_size=256))

            def build(self) -> Any:
                self.get_updates_request(AiohttpRequest(connection_pool_size=1, read_timeout=5))
                return super().build()

        app.ApplicationBuilder = Builder  # type: ignore[misc]


async def _deliver_acking_alongside(update: Any, context: Any, reply: Any) -> None:
    """bot.delivery.deliver, with the press answered while the edit and messages go out."""
    from telegram.constants import ParseMode
    from telegram.error import BadRequest

    from bot.delivery import _edit, clear_chat, keyboard, log, send_prompt

    query = update.callback_query
    answered = None
    if query is not None:
        answered = asyncio.ensure_future(query.answer(reply.notice, show_alert=bool(reply.notice)))
        if reply.replace is not None:
            await _edit(
                query.edit_message_text(
                    reply.replace.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply.replace.buttons),
                )
            )
        elif not reply.keep_buttons:
            await _edit(query.edit_message_reply_markup(None))
    chat = update.effective_chat
    if reply.clear_chat:
        message = query.message if query is not None else update.effective_message
        if message is not None:
            await clear_chat(context.bot, chat.id, message.message_id)
    for prompt in reply.prompts:
        await send_prompt(context.bot, chat.id, prompt, reply.protect)
    if answered is not None:
        try:
            await answered
        except BadRequest:
            log.info("callback.answer_late")


def main() -> int:
    levers = {x for x in os.environ.get("PEERDOOR_BENCH_LEVERS", "").split(",") if x}
    apply(levers)
    from bot.cli import main as cli

    return cli(["run"])


if __name__ == "__main__":
    sys.exit(main())
