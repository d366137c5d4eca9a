"""`BotApiEmulator`: start the server, script people, arm faults, inspect what happened."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from .chatview import wait_until
from .clock import Clock
from .faults import Call, Fault, FaultKind, FaultPlan
from .ratelimit import RateLimits
from .scripting import ScriptedGroup, ScriptedUser
from .server import ApiServer
from .state import Chat, RecordedRequest, StoredMessage, TooManyRequests, UserProfile
from .webhook import WebhookDelivery, WebhookPusher
from .world import Settings, World


class BotApiEmulator:
    """A Telegram Bot API server on 127.0.0.1 for end-to-end tests.

    `token=None` accepts any token; otherwise other tokens get 401 Unauthorized.
    `rate_limits=False` (or `RateLimits.off()`) turns every flood limit off.
    """

    def __init__(
        self,
        token: str | None = "123456:TEST-token",
        *,
        bot_username: str = "peerdoor_test_bot",
        bot_name: str = "Peerdoor",
        bot_id: int | None = None,
        rate_limits: RateLimits | bool = True,
        clock: Clock | None = None,
        strict_html: bool = True,
        callback_query_ttl: float = 60.0,
        bot_is_group_admin: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if bot_id is None:
            prefix = (token or "").split(":", 1)[0]
            bot_id = int(prefix) if prefix.isdigit() else 123456
        if rate_limits is True:
            limits = RateLimits()
        elif rate_limits is False:
            limits = RateLimits.off()
        else:
            limits = rate_limits
        self.token = token or "123456:TEST-token"
        self.clock = clock or Clock()
        bot = UserProfile(bot_id, bot_name, username=bot_username, is_bot=True)
        settings = Settings(
            strict_html=strict_html,
            callback_query_ttl=callback_query_ttl,
            bot_is_group_admin=bot_is_group_admin,
        )
        self.world = World(bot, clock=self.clock, rate_limits=limits, settings=settings)
        self.faults = FaultPlan()
        self._server = ApiServer(self.world, self.faults, token)
        self._webhook = WebhookPusher(self.world, self._server.closing)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._users: dict[int, ScriptedUser] = {}
        self._groups: dict[int, ScriptedGroup] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> BotApiEmulator:
        self._runner = web.AppRunner(
            self._server.app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._webhook.start()
        return self

    async def stop(self) -> None:
        self._server.closing.set()
        self.world.notify()
        await self._webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`; PTB wants `{base_url}/bot` and `{base_url}/file/bot`."""
        return f"http://{self._host}:{self._port}"

    @property
    def api_url(self) -> str:
        """For `ApplicationBuilder().base_url(...)`."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """For `ApplicationBuilder().base_file_url(...)`."""
        return f"{self.base_url}/file/bot"

    @property
    def bot_user(self) -> UserProfile:
        return self.world.bot.user

    # -- people and groups -----------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Person",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> ScriptedUser:
        """A person (created on first call; later calls return the same object)."""
        if user_id in self._users:
            return self._users[user_id]
        profile = UserProfile(user_id, first_name, last_name, username, language_code)
        chat = Chat(id=user_id, type="private", person=profile)
        self.world.users[user_id] = profile
        self.world.chats[user_id] = chat
        self._users[user_id] = ScriptedUser(self.world, profile, chat)
        return self._users[user_id]

    def group(
        self,
        chat_id: int,
        title: str = "Group",
        *,
        type: str = "supergroup",
        username: str | None = None,
    ) -> ScriptedGroup:
        """A group the bot is a member of (known to the bot at once)."""
        if chat_id in self._groups:
            return self._groups[chat_id]
        chat = Chat(id=chat_id, type=type, title=title, username=username, exists=True)
        self.world.chats[chat_id] = chat
        self._groups[chat_id] = ScriptedGroup(self.world, chat)
        return self._groups[chat_id]

    # -- time ------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the emulator clock forward (message age, rate windows, query expiry)."""
        self.clock.advance(seconds)
        self.world.notify()

    # -- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        kind: FaultKind = "error",
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        hold: float = 10.0,
        deliver: bool = False,
        chat_id: int | str | None = None,
        when: Callable[[Call], bool] | None = None,
    ) -> Fault:
        """Make the next `times` matching calls fail.

        kind="error" answers `status` (429 carries `retry_after`); kind="timeout" holds the
        request `hold` seconds, then closes the connection; kind="drop" closes it at once.
        `deliver=True` carries the call out first (it did reach Telegram). `method="*"`
        matches any method but getUpdates.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(
            method,
            kind=kind,
            status=status,
            description=description,
            retry_after=retry_after,
            times=times,
            hold=hold,
            deliver=deliver,
            chat_id=chat_id,
            when=when,
        )
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- inspection ------------------------------------------------------------------------

    @property
    def rate_limits(self) -> RateLimits:
        """The live limits; change fields (or `.enabled`) at any time."""
        return self.world.flood.limits

    @property
    def too_many_requests(self) -> list[TooManyRequests]:
        """Every 429 answered so far (injected ones have `injected=True`)."""
        return self.world.too_many_requests

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request, oldest first."""
        return self.world.requests

    def requests_for(self, method: str) -> list[RecordedRequest]:
        return self.world.find_requests(method)

    def calls(self, method: str) -> int:
        """How many times the bot called `method` (case-insensitive)."""
        return len(self.world.find_requests(method))

    def bot_messages(self) -> list[StoredMessage]:
        """Everything the bot sent, in every chat, deleted ones included."""
        return self.world.all_bot_messages()

    def all_sent_texts(self) -> list[str]:
        """Every text the bot ever showed anyone: texts, captions, earlier edits, answers."""
        texts: list[str] = []
        for message in self.world.all_bot_messages():
            texts.extend(t for t in message.edits if t)
            if message.content:
                texts.append(message.content)
            texts.extend(b.text for row in message.buttons for b in row)
        texts.extend(
            q.answer.text
            for q in self.world.callback_queries.values()
            if q.answer and q.answer.text
        )
        return texts

    def commands(self, *, scope: dict[str, Any] | None = None, language_code: str = "") -> Any:
        """The command list the bot set for a scope and language."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return self.world.bot.commands.get(key, [])

    @property
    def bot_texts(self) -> dict[tuple[str, str], str]:
        """Name/description/short description the bot set, by (field, language_code)."""
        return self.world.bot.descriptions

    @property
    def webhook(self) -> dict[str, Any]:
        """The webhook the bot set: url, secret_token, max_connections (empty if none)."""
        return self.world.bot.webhook

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every POST of an update to the webhook, with the status the bot answered."""
        return self._webhook.deliveries

    # -- updates ---------------------------------------------------------------------------

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (a later getUpdates offset confirms)."""
        return list(self.world.updates.pending)

    @property
    def update_history(self) -> list[dict[str, Any]]:
        return list(self.world.updates.history)

    def redeliver(self, update_id: int) -> dict[str, Any]:
        """Deliver an update again with the same update_id."""
        return self.world.updates.redeliver(update_id)

    def requeue_last(self, count: int = 1) -> list[dict[str, Any]]:
        """Deliver the last `count` updates again."""
        return self.world.updates.requeue_last(count)

    async def wait_until(
        self,
        condition: Callable[[], Any],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> Any:
        """Wait until `condition()` is truthy (re-checked on every change)."""
        return await wait_until(
            self.world, condition, timeout, lambda: f"{what} not met within {timeout}s"
        )

    def idle(self) -> bool:
        """No request of the bot's in flight, and every update handed over and confirmed
        (the bot asked for the next one, so it has taken each into its own queue)."""
        updates = self.world.updates
        return self._server.in_flight == 0 and not updates.pending and not updates.redeliveries

    async def settle(self, quiet: float = 0.05, timeout: float = 5.0) -> None:
        """Wait until the bot fetched every update and made no other request for `quiet` s."""
        server = self._server
        updates = self.world.updates

        def calm() -> bool:
            idle = time.monotonic() - server.last_activity >= quiet
            fetched = all(u["update_id"] <= updates.delivered_up_to for u in updates.pending)
            return idle and server.in_flight == 0 and not updates.redeliveries and fetched

        await wait_until(self.world, calm, timeout, lambda: f"bot still busy after {timeout}s")
