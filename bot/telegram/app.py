"""Building the bot: one place that wires settings, storage, the form engine and handlers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

from telegram import Update
from telegram.constants import FloodLimit
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
)

from bot.delivery.dispatch import Dispatcher
from bot.delivery.kinds import AT_MOST_ONCE
from bot.delivery.worker import DeliveryWorker
from bot.errors import SetupError
from bot.i18n import load_catalog
from bot.ops.maintenance import PURGE_EVERY, PURGE_FIRST, daily_purge
from bot.services.agreement import AgreementFlow
from bot.services.agreement_phone import PhoneAgreementFlow
from bot.services.applicants import ApplicantsFlow
from bot.services.assessment import AssessmentFlow
from bot.services.casework import CaseworkFlow
from bot.services.checkins import CheckinsFlow
from bot.services.groups import GroupsFlow
from bot.services.intake import IntakeFlow, Sender
from bot.services.pro_updates import ProUpdatesFlow
from bot.services.relationship_care import CareFlow
from bot.services.revocation import hand_back_orphans
from bot.services.sessions import SessionsFlow
from bot.services.sub_dialogs import SubDialogFlow
from bot.services.supporting import SupportFlow
from bot.services.surveys import SurveyFlow
from bot.services.talk import TalkFlow
from bot.settings import Settings, Webhook
from bot.telegram import menus
from bot.telegram.aiohttp_request import AiohttpRequest
from bot.telegram.calls import ApiBot, UpdatesRequest
from bot.telegram.messenger import TelegramMessenger
from bot.telegram.ordering import PerPersonUpdateProcessor
from bot.telegram.pacing import PrivateChatRateLimiter
from bot.telegram.replies import deliver
from bot.telegram.router import register
from bot.telegram.wiring import KEY, Services
from conversations.forms import ServiceConfig
from conversations.i18n import SOURCE_LANGUAGE, Catalog
from conversations.intake import Intake
from storage import KeyRing, KeyStoreMissing, Store, WrongKeyStore, WrongMasterKey

log = logging.getLogger("peerdoor")

#: Telegram keeps unconfirmed updates for 24 hours; a week is a wide margin.
UPDATE_MEMORY = timedelta(days=7)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_application(
    api_url: str,
    token: str,
    services: Services,
    rate_limit: bool = True,
    pace_private_chats: bool = True,
) -> Application:
    """The PTB Application with every handler registered, read top to bottom."""
    bot = ApiBot(
        token,
        base_url=f"{api_url}/bot",
        base_file_url=f"{api_url}/file/bot",
        # aiohttp rather than PTB's httpx: the bot's requests cost less CPU (benchmarks/README.md,
        # `interactions`); it runs the delivery worker's claim-on-wire hook (bot.delivery.port)
        request=AiohttpRequest(connection_pool_size=256),
        get_updates_request=UpdatesRequest(connection_pool_size=1),
        rate_limiter=rate_limiter(pace_private_chats) if rate_limit else None,
    )
    app = ApplicationBuilder().bot(bot).concurrent_updates(PerPersonUpdateProcessor(256)).build()
    app.bot_data[KEY] = services
    register(app)
    app.add_error_handler(on_error)
    return app


def rate_limiter(pace_private_chats: bool = True) -> AIORateLimiter:
    """Telegram's limits, spread evenly: a bucket of one, refilled 30 times a second.

    aiolimiter's default bucket (30 per second) lets 30 go at once and then 30 more within the
    same second, which Telegram answers with 429. One at a time every 1/30 s never bursts.
    Each private chat has its own small bucket too (bot/telegram/pacing.py).

    The overall pace keeps a margin under 30/s: requests exactly 1/30 s apart arrive at
    Telegram with jitter, and 31 can land in one second (the fan-out benchmark drew three 429s
    at exactly 30/s once the HTTP client got faster). One a second below the limit absorbs
    about 34 ms of jitter per 30 requests.
    """
    return PrivateChatRateLimiter(
        overall_max_rate=1,
        overall_time_period=1 / (FloodLimit.MESSAGES_PER_SECOND - 1),
        group_max_rate=1,
        group_time_period=60 / FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        max_retries=3,
        pace_private_chats=pace_private_chats,
    )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the kind of failure only (never the update: it holds what a person said)."""
    error = context.error
    frame = error.__traceback__ if error is not None else None
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame else "?"
    log.error("update.failed error=%s at=%s", type(error).__name__, where)
    if isinstance(update, Update) and update.effective_user and update.effective_chat:
        if update.effective_chat.type != "private" or isinstance(error, NetworkError):
            return
        services: Services = context.application.bot_data[KEY]
        who = Sender(update.effective_user.id, update.effective_user.language_code)
        try:
            await deliver(update, context, await services.flow.went_wrong(who))
        except TelegramError:
            log.warning("update.failed_reply_not_sent")


async def publish_profile(app: Application, config: ServiceConfig) -> None:
    """The bot's description texts from the config, per language (neutral, lock-screen safe)."""
    profile = config.bot
    for language, text in profile.description.items():
        code = None if language == SOURCE_LANGUAGE else language
        await app.bot.set_my_description(text, language_code=code)
    for language, text in profile.short_description.items():
        code = None if language == SOURCE_LANGUAGE else language
        await app.bot.set_my_short_description(text, language_code=code)


async def publish_commands(app: Application, catalog: Catalog) -> None:
    """The command menu in every shipped language (each role's own: bot.telegram.menus)."""
    await menus.publish_default(app, catalog)


@dataclass
class Runtime:
    """A running bot: storage open, Application started, polling (or serving the webhook, with
    `webhook`). `async with` to use."""

    settings: Settings
    config: ServiceConfig
    master_key: bytes
    token: str
    clock: Callable[[], datetime] = utc_now
    poll_timeout: int = 10
    webhook: Webhook | None = None

    async def __aenter__(self) -> Runtime:
        self._stack = AsyncExitStack()
        try:
            self.store = await Store.open(self.settings.database, KeyRing(self.master_key))
        except WrongMasterKey as exc:
            raise SetupError(
                f"the master key does not match the database {self.settings.database}: "
                "use the key this database was created with (PEERDOOR_MASTER_KEY or the key file)"
            ) from exc
        except (KeyStoreMissing, WrongKeyStore) as exc:
            raise SetupError(str(exc)) from exc
        self._stack.push_async_callback(self.store.close)
        self._stack.callback(setattr, self, "_store_open", False)
        self._store_open = True
        # After a restore: rows of people erased since the backup are removed before anything
        # reads them (the key store no longer knows them; see storage/keystore.py).
        removed = await self.store.remove_leftovers()
        if removed:
            log.warning("erasure.leftovers_removed people=%d", removed)
        # Referrals held by someone no longer a coordinator (out of the config) go back.
        await hand_back_orphans(self.store, self.config, self.clock())
        catalog = load_catalog()
        engine = Intake(self.config, catalog)
        wake = self._wake_worker
        flow = IntakeFlow(self.store, engine, self.clock, wake)
        casework = CaseworkFlow(self.store, self.config, catalog, self.clock, wake)
        checkins = CheckinsFlow(self.store, self.config, catalog, self.clock, wake)
        survey_flow = SurveyFlow(self.store, self.config, catalog, self.clock, wake)
        talk = TalkFlow(self.store, self.config, catalog, self.clock, wake)
        talk.mark_urgent = casework.mark_urgent  # crisis words to a supporter: urgent too
        assess = AssessmentFlow(self.store, self.config, catalog, self.clock, wake)
        assess.intake = engine  # the assessment is asked by the questionnaire dialog
        self.app = build_application(
            self.settings.api_url,
            self.token,
            Services(
                self.store,
                engine,
                flow,
                casework,
                checkins,
                survey_flow,
                support=SupportFlow(self.store, self.config, catalog, self.clock, wake),
                sessions=SessionsFlow(self.store, self.config, catalog, self.clock, wake),
                sub_dialogs=SubDialogFlow(self.store, self.config, catalog, self.clock, wake),
                applicants=ApplicantsFlow(self.store, self.config, catalog, self.clock, wake),
                talk=talk,
                agreement=AgreementFlow(self.store, self.config, catalog, self.clock, wake),
                agreement_phone=PhoneAgreementFlow(
                    self.store, self.config, catalog, self.clock, wake
                ),
                pro_updates=ProUpdatesFlow(self.store, self.config, catalog, self.clock, wake),
                care=CareFlow(self.store, self.config, catalog, self.clock, wake),
                assessment=assess,
                groups=GroupsFlow(self.store, self.config, catalog, self.clock, wake),
            ),
            rate_limit=self.settings.rate_limit,
            pace_private_chats=self.settings.pace_private_chats,
        )
        messenger = TelegramMessenger(self.app.bot)
        dispatcher = Dispatcher(self.config, catalog, self.store, messenger, self.clock)
        self.worker = DeliveryWorker(
            self.store,
            dispatcher,
            self.clock,
            at_most_once=AT_MOST_ONCE,
            arm=self._arm_delivery,
            on_blocked=checkins.blocked,
        )
        try:
            await self.app.initialize()
        except InvalidToken as exc:
            await self._stack.aclose()
            raise SetupError(
                "Telegram refused the token: check PEERDOOR_TELEGRAM_TOKEN against @BotFather"
            ) from exc
        except NetworkError as exc:
            await self._stack.aclose()
            raise SetupError(
                f"cannot reach the Bot API at {self.settings.api_url}: check the network or "
                "PEERDOOR_TELEGRAM_API_URL"
            ) from exc
        self._stack.push_async_callback(self.app.shutdown)
        await publish_commands(self.app, catalog)
        self.menus = menus.RoleMenus(self.app, self.store, self.config, catalog)
        await self.menus.refresh()
        await publish_profile(self.app, self.config)
        await self.app.start()
        self._stack.push_async_callback(self.app.stop)
        self.worker.start()
        self._stack.push_async_callback(self.worker.stop)
        if self.webhook is not None:
            await self._serve_webhook(self.webhook)
        else:
            assert self.app.updater is not None
            await self.app.updater.start_polling(
                poll_interval=0, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
            )
            self._stack.push_async_callback(self.app.updater.stop)
        assert self.app.job_queue is not None
        self.app.job_queue.run_repeating(
            self._prune, interval=timedelta(hours=6), first=timedelta(minutes=1)
        )
        self.app.job_queue.run_repeating(
            self._refresh_menus, interval=menus.MENU_EVERY, first=menus.MENU_EVERY
        )
        self.app.job_queue.run_repeating(
            self._purge,
            interval=PURGE_EVERY,
            first=PURGE_FIRST,
            name="retention_purge",
        )
        log.info("bot.started username=%s", self.app.bot.username)
        return self

    async def _serve_webhook(self, hook: Webhook) -> None:
        """Listen first, then tell Telegram where to deliver. At stop the server closes first
        (nothing new comes in) and Application.stop handles what was queued; the webhook stays
        set, so Telegram keeps updates for the next start."""
        from bot.telegram.webhook import WebhookServer  # aiohttp: only in webhook mode

        server = WebhookServer(self.app, hook, self.healthy)
        try:
            await server.start()
            self._stack.push_async_callback(server.stop)
            await self.app.bot.set_webhook(
                hook.url,
                secret_token=hook.secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
        except TelegramError as exc:
            await self._stack.aclose()
            raise SetupError(
                f"Telegram refused the webhook {hook.url} ({exc.message}): check "
                "PEERDOOR_WEBHOOK_URL is the public https address of your reverse proxy"
            ) from exc
        except BaseException:
            await self._stack.aclose()
            raise

    def healthy(self) -> bool:
        """For /healthz: the store open and the Application running."""
        return self._store_open and self.app.running

    def _wake_worker(self) -> None:
        self.worker.wake()

    def _arm_delivery(self, when: datetime | None) -> None:
        """The worker went idle: wake it when the next outbox row is due. One job, replaced
        each time; never skipped as a misfire when late (the outbox is the truth, this timer
        only a prompt, and the worker also looks every IDLE_WAKEUP seconds)."""
        job_queue = self.app.job_queue
        if job_queue is None or when is None:
            return
        job_queue.run_once(
            self._delivery_due,
            when=when,
            name="outbox_due",
            job_kwargs={"misfire_grace_time": None, "id": "outbox_due", "replace_existing": True},
        )

    async def _delivery_due(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.worker.wake()

    async def _refresh_menus(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Roles granted or taken away in the bot show in the command menus."""
        await self.menus.refresh()

    async def _prune(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Forget which updates were applied once Telegram can no longer redeliver them."""
        async with self.store.unit() as uow:
            forgotten = await uow.updates.prune(self.clock() - UPDATE_MEMORY)
        log.info("updates.pruned count=%d", forgotten)

    async def _purge(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The retention purge, daily (bot.ops.maintenance)."""
        await daily_purge(self.store, self.config, self.clock())
        self.worker.wake()  # a freed group place: the next in line's invitation goes now

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()
        log.info("bot.stopped")
