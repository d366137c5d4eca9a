"""Webhook mode: a small aiohttp server for Telegram's updates, and a health check.

Two routes on PEERDOOR_LISTEN:

- ``POST <path of PEERDOOR_WEBHOOK_URL>``: an update from Telegram. The
  ``X-Telegram-Bot-Api-Secret-Token`` header must equal PEERDOOR_WEBHOOK_SECRET (compared in
  constant time), else 403 without reading the body. A good one is answered 200 at once and put
  on the Application's update queue; the handlers dedupe on ``update_id``.
- ``GET /healthz``: 200 ``{"status": "ok"}`` while the bot is up, 503 otherwise. No data.

Nothing here logs a header value, a body or a client address; aiohttp's access log is off.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.errors import SetupError
from bot.settings import HEALTH_PATH, Webhook
from bot.telegram.calls import slim

log = logging.getLogger("peerdoor.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
#: Updates are small; Telegram's largest (a long message with entities) is far below this.
MAX_BODY = 1024 * 1024
#: Rejected requests are logged once, then at most once a minute with a count.
REJECT_LOG_EVERY = 60.0


class WebhookServer:
    """Serves the webhook and /healthz until `stop()`; `start()` raises SetupError if the
    address cannot be used."""

    def __init__(self, app: Application, hook: Webhook, healthy: Callable[[], bool]) -> None:
        self.app = app
        self.hook = hook
        self.healthy = healthy
        self._secret = hook.secret.encode()
        self._runner: web.AppRunner | None = None
        self._rejected = 0
        self._logged_at: float | None = None

    async def start(self) -> None:
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(self.hook.path, self._update)
        web_app.router.add_get(HEALTH_PATH, self._health)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.hook.host, self.hook.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise SetupError(
                f"cannot listen on {self.hook.host}:{self.hook.port} ({exc.strerror}): is another "
                "bot running? Stop it, or set PEERDOOR_LISTEN to a free host:port"
            ) from exc
        self._runner = runner
        hook = self.hook
        log.info("webhook.listening on=%s:%d path=%s", hook.host, hook.port, hook.path)

    async def stop(self) -> None:
        """Stop accepting; requests in hand finish (they only queue an update)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            log.info("webhook.closed")

    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._secret):
            self._note_rejected()
            return web.Response(status=403)
        if not self.app.running:
            return web.Response(status=503)
        try:
            data = json.loads(await request.read())
            update = Update.de_json(slim(data), self.app.bot) if isinstance(data, dict) else None
        except Exception as exc:  # never log the body: it holds what a person said
            log.warning("webhook.unreadable_update error=%s", type(exc).__name__)
            return web.Response(status=400)
        if update is None:
            log.warning("webhook.unreadable_update error=NotAnUpdate")
            return web.Response(status=400)
        await self.app.update_queue.put(update)
        return web.Response(status=200)

    async def _health(self, request: web.Request) -> web.Response:
        if self.healthy():
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "unavailable"}, status=503)

    def _note_rejected(self) -> None:
        self._rejected += 1
        now = time.monotonic()
        if self._logged_at is None or now - self._logged_at >= REJECT_LOG_EVERY:
            log.warning("webhook.rejected reason=secret_token count=%d", self._rejected)
            self._rejected, self._logged_at = 0, now
