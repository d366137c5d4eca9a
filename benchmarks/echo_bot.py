"""The baseline: a bare python-telegram-bot echo bot, long polling the emulator.

Every text (commands included) is sent back as it came, with one inline button; every press of
that button is answered and followed by a message (with the button again). Same concurrency
setting as peerdoor (256 updates at a time), no rate limiter, no storage.

    PEERDOOR_TELEGRAM_TOKEN=... PEERDOOR_TELEGRAM_API_URL=http://127.0.0.1:PORT \\
        python -m benchmarks.echo_bot
"""

from __future__ import annotations

import logging
import os
import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

READY = "echo.started"
BUTTON = InlineKeyboardMarkup([[InlineKeyboardButton("Echo", callback_data="echo")]])
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]

log = logging.getLogger("echo")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(message.text, reply_markup=BUTTON, do_quote=False)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    await context.bot.send_message(
        update.effective_chat.id, f"pressed {query.data}", reply_markup=BUTTON
    )


async def announce(app: Application) -> None:
    log.info("%s username=%s", READY, app.bot.username)


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s %(message)s")
    for noisy in ("httpx", "httpcore", "telegram"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    api_url = os.environ["PEERDOOR_TELEGRAM_API_URL"]
    app = (
        ApplicationBuilder()
        .token(os.environ["PEERDOOR_TELEGRAM_TOKEN"])
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .concurrent_updates(256)
        .post_init(announce)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    app.run_polling(poll_interval=0, timeout=10, allowed_updates=ALLOWED_UPDATES)


if __name__ == "__main__":
    main()
