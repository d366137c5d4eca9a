"""Handlers for sessions: /sessions, the ``m:`` buttons, and what a planner types."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.reply import Reply
from bot.services.sessions import SessionsFlow
from bot.telegram.handlers.who import sender
from bot.telegram.wiring import services


def _flow(context: ContextTypes.DEFAULT_TYPE) -> SessionsFlow:
    found = services(context).sessions
    assert found is not None
    return found


async def people(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/sessions: the people I support, their next meeting, and buttons to plan one."""
    return await _flow(context).people(sender(update))


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """A session button (plan, day, where, save, cancel, log, reminders)."""
    assert update.callback_query is not None
    return await _flow(context).press(sender(update), update.callback_query.data)
