"""/mydata: a copy of everything held about the person, to them only."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import ContextTypes

from bot.services.mydata import MyData
from bot.telegram.handlers.who import sender
from bot.telegram.replies import deliver
from bot.telegram.wiring import services


async def mydata(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The readable copy (protected from forwarding), then the same as a JSON file.

    The file is not protected: it is theirs to keep and to take to another service
    (the right to data portability); Telegram would otherwise block saving it."""
    found = services(context)
    export = await MyData(found.store, found.intake, found.flow.clock).export(
        sender(update), update.update_id
    )
    await deliver(update, context, export.reply)
    chat = update.effective_chat
    if export.file is None or chat is None:
        return
    await context.bot.send_document(
        chat.id,
        InputFile(export.file, filename=export.filename, attach=True),
        caption=export.caption,
    )
