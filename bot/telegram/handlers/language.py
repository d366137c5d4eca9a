"""/language during a dialog that has no language step of its own, and its ``l`` buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.reply import Reply
from bot.telegram.handlers import intake as intake_handlers
from bot.telegram.handlers.who import sender
from bot.telegram.wiring import services


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/language: pushed on top of a survey; anywhere else the form's own /language."""
    found = services(context)
    reply = await found.sub_dialogs.language(sender(update)) if found.sub_dialogs else None
    return reply if reply is not None else await intake_handlers.command(update, context)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``l1:<screen>:L:<code>`` or ``…:R``: chosen or back, and where the person was."""
    assert update.callback_query is not None
    found = services(context).sub_dialogs
    assert found is not None
    return await found.press(sender(update), update.callback_query.data)
