"""Webhook mode: while a webhook is set, POST each update to it, one at a time, in order."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import aiohttp

from .world import World

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class WebhookDelivery:
    """One POST of an update to the bot's webhook."""

    update_id: int
    url: str
    status: int  # 0 when the connection failed


class WebhookPusher:
    """Delivers pending updates to `world.bot.webhook["url"]`; retries until a 2xx."""

    def __init__(self, world: World, closing: asyncio.Event, retry_delay: float = 0.2) -> None:
        self.world = world
        self.closing = closing
        self.retry_delay = retry_delay
        self.deliveries: list[WebhookDelivery] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        session: aiohttp.ClientSession | None = None
        try:
            while not self.closing.is_set():
                hook = self.world.bot.webhook
                if not hook or not self.world.updates.has_ready():
                    await self.world.wait_changed(1.0)
                    continue
                session = session or aiohttp.ClientSession()
                await self._deliver_one(session, hook["url"], hook.get("secret_token"))
        finally:
            if session is not None:
                await session.close()

    async def _deliver_one(
        self, session: aiohttp.ClientSession, url: str, secret: str | None
    ) -> None:
        updates = self.world.updates
        redelivery = bool(updates.redeliveries)
        (update,) = updates.take(1)
        headers = {SECRET_HEADER: secret} if secret else {}
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with session.post(url, json=update, headers=headers, timeout=timeout) as reply:
                status = reply.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.deliveries.append(WebhookDelivery(update["update_id"], url, status))
        if 200 <= status < 300:
            if not redelivery:
                updates.confirm(update["update_id"] + 1)
            return
        if redelivery:
            updates.redeliveries.insert(0, update)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), self.retry_delay)
