"""Handlers for the surveys at the end of support (``f:`` buttons) and for a supporter's
"Support has ended" (``s:end:<engagement>``, routed here by the supporter handlers)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.reply import Reply
from bot.services.surveys import SurveyFlow
from bot.telegram.handlers.who import sender
from bot.telegram.wiring import services


def _flow(context: ContextTypes.DEFAULT_TYPE) -> SurveyFlow:
    found = services(context).surveys
    assert found is not None
    return found


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """A survey button: start, an answer, skip, back, stop."""
    assert update.callback_query is not None
    return await _flow(context).press(sender(update), update.callback_query.data, update.update_id)


async def support_ended(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``s:end:<engagement>``: the supporter says support has ended."""
    assert update.callback_query is not None
    parts = (update.callback_query.data or "").split(":")
    engagement = parts[2] if len(parts) == 3 and parts[:2] == ["s", "end"] else ""
    return await _flow(context).support_ended(sender(update), engagement, update.update_id)
