"""Handlers for peer supporters: /profile, profile buttons, and answering a hand-over."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.reply import Reply
from bot.services.supporting import SupportFlow
from bot.telegram.handlers import surveys as survey_handlers
from bot.telegram.handlers.who import actor
from bot.telegram.wiring import services
from conversations import callbacks, screens


def _flow(context: ContextTypes.DEFAULT_TYPE) -> SupportFlow:
    found = services(context).support
    assert found is not None
    return found


async def profile(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/profile: what coordinators know about me; change it, pause, leave."""
    return await _flow(context).profile(actor(update))


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``p:`` profile buttons and ``s:`` answers to a hand-over."""
    assert update.callback_query is not None
    found = callbacks.parse(update.callback_query.data)
    if isinstance(found, callbacks.SupportPress) and found.action == "end":
        return await survey_handlers.support_ended(update, context)  # end-of-support surveys
    flow = _flow(context)
    who = actor(update)
    if isinstance(found, callbacks.ProfilePress | callbacks.SupportPress):
        reply = await flow.press(who, found)
    else:  # unreadable: nothing happens
        _ = services(context).intake.translator(flow.language_of(who))
        reply = Reply(notice=screens.expired_notice(_), keep_buttons=True)
    return reply
