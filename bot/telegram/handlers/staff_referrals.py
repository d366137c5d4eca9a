"""A coordinator acting for someone without Telegram: /newreferral, /persondata, /erase."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.services.reply import Reply
from bot.services.staff_referrals import StaffReferrals
from bot.telegram.handlers.who import actor
from bot.telegram.wiring import services


def _flow(context: ContextTypes.DEFAULT_TYPE) -> StaffReferrals:
    found = services(context)
    return StaffReferrals(found.store, found.intake, found.flow.clock, found.flow.wake)


async def new_referral(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/newreferral <programme>: a referral taken by phone or in person."""
    arg = " ".join(context.args or [])
    return await _flow(context).new_referral(actor(update), arg, update.update_id)


async def person_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/persondata REF: the copy of what is held about a person without Telegram."""
    code = "".join(context.args or [])
    return await _flow(context).person_data(actor(update), code, update.update_id)


async def erase(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """/erase REF: erase a person without Telegram, on their request (after a confirm press)."""
    code = "".join(context.args or [])
    return await _flow(context).erase_request(actor(update), code, update.update_id)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Reply | None:
    """How the person agreed, or the erase confirmation."""
    assert update.callback_query is not None
    return await _flow(context).press(actor(update), update.callback_query.data, update.update_id)
