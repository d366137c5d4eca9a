"""Handlers for coordinators' volunteers: /applicants, its buttons, and /invite."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.applicants import ApplicantsFlow
from bot.services.reply import Reply
from bot.telegram.handlers.who import actor
from bot.telegram.wiring import services
from conversations import applicants


def _flow(context: ContextTypes.DEFAULT_TYPE) -> ApplicantsFlow:
    found = services(context).applicants
    assert found is not None
    return found


async def listing(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/applicants: volunteers of my programmes, by stage."""
    return await _flow(context).listing(actor(update), update.update_id)


async def invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/invite supporter|coordinator [programme]: a one-time code to join."""
    return await _flow(context).invite(actor(update), list(context.args or []), update.update_id)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """``v:`` buttons (checked against role and stage when pressed; forged: nothing)."""
    assert update.callback_query is not None
    found = applicants.parse(update.callback_query.data)
    return await _flow(context).press(actor(update), found, update.update_id)
