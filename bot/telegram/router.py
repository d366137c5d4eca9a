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
from bot.telegram.handlers import checkins as checkins_handlers
from bot.telegram.handlers import coordinator
from bot.telegram.handlers import groups as group_handlers
from bot.telegram.handlers import intake as intake_handlers
from bot.telegram.handlers import mydata as mydata_handlers
from bot.telegram.handlers import sessions as session_handlers
from bot.telegram.handlers import supporter as supporter_handlers
from bot.telegram.handlers import surveys as survey_handlers
from bot.telegram.replies import deliver
from bot.telegram.wiring import services

log = logging.getLogger("peerdoor.router")

Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Awaitable[Reply | None]]


def routed(handler: Handler) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """Run `handler` inside the update's one transaction; send its reply after the commit."""

    async def run(update: Update, context: Context) -> None:
        found = services(context)
        with found.store.counting() as began:
            async with found.store.unit() as uow:
                await uow.updates.claim(update.update_id, found.flow.clock())
                await checkins_handlers.seen(update, context)
                reply = await handler(update, context)
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

    def command(name: str | list[str], handler: Handler, where: filters.BaseFilter) -> None:
        app.add_handler(CommandHandler(name, routed(handler), filters=where))

    def press(pattern: str | None, handler: Handler) -> None:
        app.add_handler(CallbackQueryHandler(routed(handler), pattern=pattern))

    app.add_handler(ChatMemberHandler(routed(checkins_handlers.membership)))
    press(r"^k:", checkins_handlers.press)
    command("stop", checkins_handlers.stop, private)
    press(r"^[rq]:", coordinator.press)
    press(r"^f[0-9]*:", survey_handlers.press)
    press(r"^m:", session_handlers.press)
    command("sessions", session_handlers.people, private)
    press(r"^u:", group_handlers.press)
    command("groups", group_handlers.mine, private)
    press(r"^[ps]:", supporter_handlers.press)
    command("profile", supporter_handlers.profile, private)
    command("queue", coordinator.queue, private)
    command("mine", coordinator.mine, private)
    command("referral", coordinator.referral, private)
    command("join", coordinator.join, private)
    command("revoke", coordinator.revoke, private)
    command("status", coordinator.status, private)
    command("groupid", coordinator.group_id, groups)
    command("start", intake_handlers.start, private)
    command("delete", intake_handlers.delete, private)
    command("mydata", mydata_handlers.mydata, private)
    command("pause", intake_handlers.pause, private)
    command("exit", intake_handlers.quick_exit, private)
    command("privacy", intake_handlers.privacy, private)
    command(["back", "cancel", "language", "help"], intake_handlers.command, private)
    text = private & filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(text, routed(intake_handlers.typed)))
    press(None, intake_handlers.press)
    not_text = private & ~filters.TEXT & ~filters.StatusUpdate.ALL
    app.add_handler(MessageHandler(not_text, routed(intake_handlers.not_text)))
    app.add_handler(MessageHandler(private & filters.COMMAND, routed(intake_handlers.typed)))
