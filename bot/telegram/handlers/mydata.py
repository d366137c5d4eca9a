"""/mydata: a copy of everything held about the person, to them only."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.mydata import MyData
from bot.services.reply import File, Reply
from bot.telegram.handlers.who import sender
from bot.telegram.wiring import services


async def mydata(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """The readable copy (protected from forwarding), then the same as a JSON file.

    The file is not protected: it is theirs to keep and to take to another service
    (the right to data portability); Telegram would otherwise block saving it."""
    found = services(context)
    export = await MyData(found.store, found.intake, found.flow.clock).export(
        sender(update), update.update_id
    )
    reply = export.reply
    if export.file is not None:
        reply.files.append(
            File(export.file, export.filename or "mydata.json", export.caption or "")
        )
    return reply
