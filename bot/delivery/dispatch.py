"""Sending one outbox row, driven by its kind's entry (bot.delivery.kinds): load what it is
about, apply its timing (lateness, quiet hours), resolve who receives it (holding it back while
the referrer pauses), check the consent it waits for, render it (bot.delivery.renderers) and
hand the prompt to the messenger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.delivery import kinds
from bot.delivery.context import NO_CHAT, Context
from bot.delivery.kinds import Kind
from bot.delivery.port import Messenger
from bot.delivery.renderers import RENDERERS, task_for_holder
from bot.delivery.worker import Discard, Postponed, Sent
from conversations import scheduling
from conversations.forms import Programme, ServiceConfig
from conversations.i18n import Catalog
from storage import Store, Unit
from storage.outbox import OutboxItem

log = logging.getLogger("peerdoor.delivery")


class Dispatcher:
    def __init__(
        self,
        config: ServiceConfig,
        catalog: Catalog,
        store: Store,
        messenger: Messenger,
        clock: Callable[[], datetime],
    ) -> None:
        self.config, self.catalog, self.store = config, catalog, store
        self.messenger, self.clock = messenger, clock

    async def __call__(self, item: OutboxItem) -> Sent | None:
        kind, render = kinds.kind(item.kind), RENDERERS.get(item.kind)
        if kind is None or render is None:
            log.error("delivery.unknown_kind kind=%s", item.kind)
            return None
        async with self.store.unit() as uow:
            ctx = await self._context(uow, item, kind)
            rendered = await render(ctx) if ctx is not None else None
            if rendered is not None and ctx is not None and ctx.task is not None:
                # the person has no Telegram: the kind rendered (its checks and what it queues
                # next all hold), and the holder gets a task in place of the message
                rendered = await task_for_holder(ctx)
        if rendered is None:
            return None
        assert all(t.chat_id != NO_CHAT for t in rendered.targets), "no chat: a task is due"
        first: int | None = None
        for target in rendered.targets:
            sent_id = await self.messenger.send(
                target.chat_id,
                rendered.prompt,
                protect=target.protect,
                silent=target.silent,
                document=rendered.document,
            )
            first = first if first is not None else sent_id
        only = first if len(rendered.targets) == 1 else None
        keep = rendered.keep
        if keep is not None and only is not None:
            message_id = only

            async def record(uow: Unit) -> object:
                return await keep(uow, message_id)

            return Sent(only, record)
        return Sent(only)

    async def _context(self, uow: Unit, item: OutboxItem, kind: Kind) -> Context | None:
        """What the row is about and who receives it; None when there is nothing to send."""
        now = self.clock()
        ctx = Context(uow, item, self.config, self.catalog, now)
        if kind.to == "recipient":  # what it was about is gone: the reference is in the row
            target = await ctx.recipient()
            ctx.targets = [target] if target is not None else []
            return ctx if target is not None else None
        ctx.about = await uow.referrals.get(item.referral_id) if item.referral_id else None
        if ctx.about is None:
            return None
        ctx.in_programme = self.config.programme(await uow.referrals.programme_id(ctx.about))
        if ctx.in_programme is None:
            return None
        _when(item, kind, ctx.in_programme, now)
        match kind.to:
            case "coordinators":
                ctx.targets = await ctx.coordinators()
            case "holder":
                holder = await ctx.holder()
                if holder is None:
                    return None
                ctx.targets = [holder]
            case "holder_or_coordinators":
                ctx.targets = await ctx.holder_or_coordinators()
                if not ctx.targets:
                    raise Discard("no_coordinator")
            case "referrer" if not await uow.people.has_telegram(await ctx.owner()):
                # someone without Telegram (a professional's or a phone referral): the holder
                # is asked to call them instead, in private (the kind says about what)
                ctx.task, ctx.task_for = kind.task, await ctx.holder_or_coordinators()
                if kind.task is None or not ctx.task_for:
                    raise Discard("no_telegram")
                ctx.prefs = await ctx.owner_prefs()
                ctx.targets = [ctx.offline(ctx.prefs)]
            case "referrer":
                target, ctx.prefs = await ctx.referrer()
                ctx.targets = [target]
            case "professional":
                found = await ctx.recipient_as_referrer()
                if found is None:
                    raise Discard("no_professional")
                ctx.targets = [found]
        if kind.consent is not None:
            prefs = ctx.prefs or await ctx.owner_prefs()
            if not prefs.agreed(kind.consent):
                raise Discard("no_consent")
        return ctx


def quiet_window(programme: Programme) -> scheduling.QuietWindow | None:
    quiet = programme.quiet_hours
    if quiet is None:
        return None
    return scheduling.QuietWindow(quiet.start.replace(tzinfo=None), quiet.end.replace(tzinfo=None))


def _when(item: OutboxItem, kind: Kind, programme: Programme, now: datetime) -> None:
    """Lateness and quiet hours (in the programme's time zone), by the kind's timing: a
    reminder past its moment is dropped; a message in quiet hours waits until they end."""
    verdict = scheduling.plan(
        kind.timing, item.due_at, now, ZoneInfo(programme.timezone), quiet_window(programme)
    )
    if verdict == "drop":
        raise Discard("late")
    if isinstance(verdict, datetime):
        raise Postponed(verdict)
