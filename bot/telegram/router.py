"""The one router: every update goes through `routed`, and the table below picks its handler.

For each update: one write transaction (the store's unit of work), the update id claimed once
(delivered twice: applied once), the "they have not blocked us" mark, exactly one handler (PTB
picks the first registration that matches), commit — and only then the reply is sent. The use
cases open `store.unit()` as before; inside an update they join this one transaction instead of
opening their own, so a typed answer, a press and a command each make one write transaction
(tests/e2e/test_router.py counts them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.services.reply import Reply
from bot.telegram.handlers import applicants as applicant_handlers
from bot.telegram.handlers import checkins as checkins_handlers
from bot.telegram.handlers import coordinator, staff_referrals
from bot.telegram.handlers import groups as group_handlers
from bot.telegram.handlers import intake as intake_handlers
from bot.telegram.handlers import language as language_handlers
from bot.telegram.handlers import mydata as mydata_handlers
from bot.telegram.handlers import sessions as session_handlers
from bot.telegram.handlers import supporter as supporter_handlers
from bot.telegram.handlers import surveys as survey_handlers
from bot.telegram.handlers import talk as talk_handlers
from bot.telegram.replies import deliver
from bot.telegram.wiring import REPEATED, services

log = logging.getLogger("peerdoor.router")

Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Awaitable[Reply | None]]


def routed(
    handler: Handler, repeats: bool = False
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """Run `handler` inside the update's one transaction; send its reply after the commit.

    The update id is claimed here, once. An update applied before (Telegram delivered it
    again) does not reach `handler` unless it shows something on a repeat (``repeats``: the
    form shows where the person is, a list is shown again); those read `REPEATED`."""

    async def run(update: Update, context: Context) -> None:
        found = services(context)
        with found.store.counting() as began:
            async with found.store.unit() as uow:
                first = await uow.updates.claim(update.update_id, found.flow.clock())
                token = REPEATED.set(not first)
                try:
                    await checkins_handlers.seen(update, context)
                    if first or repeats:
                        reply = await handler(update, context)
                    else:  # applied once already: answer a press, change nothing
                        reply = Reply(keep_buttons=True)
                finally:
                    REPEATED.reset(token)
        log.debug("update.applied route=%s transactions=%d", handler.__name__, began[0])
        if reply is not None:
            await deliver(update, context, reply)

    run.__name__ = run.__qualname__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def register(app: Application) -> None:
    """Every route, read top to bottom: the first that matches an update handles it."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS

    def command(
        name: str | list[str], handler: Handler, where: filters.BaseFilter, repeats: bool = True
    ) -> None:
        app.add_handler(CommandHandler(name, routed(handler, repeats), filters=where))

    def press(pattern: str | None, handler: Handler, repeats: bool = True) -> None:
        app.add_handler(CallbackQueryHandler(routed(handler, repeats), pattern=pattern))

    # repeats=False: the use case does not claim the update again; a repeat never reaches it.
    app.add_handler(ChatMemberHandler(routed(checkins_handlers.membership, repeats=True)))
    press(r"^k:", checkins_handlers.press)
    command("stop", checkins_handlers.stop, private)
    press(r"^([rq]|w[0-9]+):", coordinator.press, repeats=False)
    press(r"^f[0-9]*:", survey_handlers.press)
    press(r"^m[0-9]*:", session_handlers.press, repeats=False)
    command("sessions", session_handlers.people, private)  # a list: shown again
    press(r"^u[0-9]*:", group_handlers.press, repeats=False)
    command("groups", group_handlers.mine, private)
    press(r"^(p[0-9]*|s):", supporter_handlers.press, repeats=False)
    command("profile", supporter_handlers.profile, private)
    press(r"^v[0-9]*:", applicant_handlers.press, repeats=False)
    command("applicants", applicant_handlers.listing, private)
    command("invite", applicant_handlers.invite, private)
    press(r"^t[0-9]*:", talk_handlers.press, repeats=False)
    press(r"^g:", talk_handlers.agreement, repeats=False)
    press(r"^gp:", talk_handlers.agreement_by_phone, repeats=False)
    press(r"^pu:", talk_handlers.pro_updates_off, repeats=False)
    press(r"^h:", talk_handlers.care, repeats=False)
    command("feedback", talk_handlers.feedback, private)
    command("assess", talk_handlers.assess, private)
    command("talk", talk_handlers.menu, private)
    command("queue", coordinator.queue, private)
    command("mine", coordinator.mine, private)
    command("referral", coordinator.referral, private, repeats=False)
    command("join", coordinator.join, private, repeats=False)
    command("revoke", coordinator.revoke, private, repeats=False)
    command("status", coordinator.status, private)
    command("groupid", coordinator.group_id, groups)
    press(r"^n:", staff_referrals.press, repeats=False)
    everywhere = private | groups
    command("newreferral", staff_referrals.new_referral, everywhere)
    command("persondata", staff_referrals.person_data, everywhere)
    command("erase", staff_referrals.erase, everywhere)
    command("start", intake_handlers.start, private)
    command("delete", intake_handlers.delete, private)
    command("mydata", mydata_handlers.mydata, private)
    command("pause", intake_handlers.pause, private)
    command("exit", intake_handlers.quick_exit, private)
    command("privacy", intake_handlers.privacy, private)
    press(r"^l[0-9]+:", language_handlers.press, repeats=False)
    command("language", language_handlers.command, private)  # the form's, unless in a survey
    command(["back", "cancel", "help"], intake_handlers.command, private)
    text = private & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(text, routed(intake_handlers.typed, repeats=True)))
    press(None, intake_handlers.press)
    not_text = private & ~filters.TEXT & ~filters.StatusUpdate.ALL
    app.add_handler(MessageHandler(not_text, routed(intake_handlers.not_text, repeats=True)))
    app.add_handler(
        MessageHandler(private & filters.COMMAND, routed(intake_handlers.typed, repeats=True))
    )
