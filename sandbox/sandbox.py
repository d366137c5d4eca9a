"""The sandbox: the real bot, in this process, against the built-in emulator, with a web chat.

Everything lives in a temporary directory with a fresh random master key, and is gone when the
sandbox stops. The operator's config is read, never written: the sandbox's coordinators' group
and coordinator are put into a copy in memory.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from types import TracebackType

from bot.config_file import load_config
from bot.settings import Settings
from bot.telegram.app import Runtime
from conversations.forms import ServiceConfig
from storage import KeyRing

from .emulator import BotApiEmulator
from .web import Pane, SandboxPage

log = logging.getLogger("peerdoor.sandbox")

TOKEN = "123456:SANDBOX-not-a-real-token"  # noqa: S105  (the emulator's, not Telegram's)
GROUP_ID = -1009990001
REFERRER_ID, COORDINATOR_ID, SUPPORTER_ID = 9001, 9002, 9003


@dataclass(frozen=True)
class ConfigChoice:
    """Which config the sandbox uses, and how to say so."""

    path: Path
    label: str


def choose_config(explicit: Path | None, env_config: str | None = None) -> ConfigChoice:
    """--config, else PEERDOOR_CONFIG, else ./peerdoor.toml if there is one, else the example."""
    if explicit is not None:
        return ConfigChoice(explicit, f"your config {explicit}")
    if env_config:
        return ConfigChoice(Path(env_config), f"your config {env_config} (PEERDOOR_CONFIG)")
    local = Path("peerdoor.toml")
    if local.is_file():
        return ConfigChoice(local, f"your config {local}")
    example = Path(str(files("bot").joinpath("example_config.toml")))
    return ConfigChoice(example, "the example config (peerdoor init writes a copy to edit)")


def sandbox_config(config: ServiceConfig) -> ServiceConfig:
    """Every programme's coordinators are the sandbox coordinator, in the sandbox group."""
    programmes = [
        p.model_copy(update={"coordinators": [COORDINATOR_ID], "coordinator_chat": GROUP_ID})
        for p in config.programmes
    ]
    return config.model_copy(update={"programmes": programmes})


class Sandbox:
    """`async with Sandbox(port=8080) as box:` then open `box.url`."""

    def __init__(self, port: int = 8080, config: Path | None = None) -> None:
        self.choice = choose_config(config, os.environ.get("PEERDOOR_CONFIG"))
        self.config = sandbox_config(load_config(self.choice.path))
        self.port = port
        self.emulator = BotApiEmulator(
            TOKEN, bot_username="peerdoor_sandbox_bot", bot_name="Peerdoor (sandbox)"
        )
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._runtime: Runtime | None = None
        self.page: SandboxPage | None = None

    @property
    def url(self) -> str:
        assert self.page is not None
        return self.page.url

    async def __aenter__(self) -> Sandbox:
        self._tmp = tempfile.TemporaryDirectory(prefix="peerdoor-sandbox-")
        try:
            await self._start(Path(self._tmp.name))
        except BaseException:
            await self._stop()
            raise
        return self

    async def _start(self, root: Path) -> None:
        await self.emulator.start()
        data = root / "data"
        data.mkdir(mode=0o700)
        settings = Settings(
            telegram_token=self.emulator.token,  # type: ignore[arg-type]
            telegram_api_url=self.emulator.base_url,
            config=self.choice.path,
            data_dir=data,
            master_key=None,
            key_file=root / "no.key",
        )
        emu = self.emulator
        group = emu.group(GROUP_ID, "Coordinators (sandbox)")
        referrer = emu.user(REFERRER_ID, "Robin", language_code="en")
        coordinator = emu.user(COORDINATOR_ID, "Cora", language_code="en")
        supporter = emu.user(SUPPORTER_ID, "Sam", language_code="en")
        # Coordinators and supporters have opened the bot before, as they would in Telegram.
        coordinator.chat.exists = supporter.chat.exists = True
        key = KeyRing.generate()  # fresh each time: nothing written here can be read later
        self._runtime = Runtime(settings, self.config, key, emu.token, poll_timeout=5)
        await self._runtime.__aenter__()
        invite = await self._supporter_invite()
        first = self.config.programmes[0].id
        panes = [
            Pane("referrer", "Referrer (private chat)", referrer, None, [f"/start {first}"]),
            Pane("group", "Coordinators' group", coordinator, group, ["/groupid"]),
            Pane("coordinator", "Coordinator (private chat)", coordinator, None, ["/queue"]),
            Pane(
                "supporter",
                "Supporter (private chat)",
                supporter,
                None,
                [f"/join {invite}", "/profile", "/sessions"],
            ),
        ]
        hints = {
            "referrer": "Robin, someone referring themselves. Start as the clinic's link does:",
            "group": "The coordinators' group, as Cora sees it. New referrals appear here.",
            "coordinator": "Cora's private chat with the bot: claimed referrals arrive here.",
            "supporter": (
                f"Sam, a peer supporter. A one-time code lets them join {first}; then /profile "
                "(matches use it), and /sessions once Cora matched them with someone:"
            ),
        }
        self.page = SandboxPage(emu.world, panes, hints, self.choice.label, port=self.port)
        await self.page.start()

    async def _supporter_invite(self) -> str:
        assert self._runtime is not None
        now = datetime.now(UTC)
        programme = self.config.programmes[0].id
        async with self._runtime.store.unit() as uow:
            return await uow.invites.create("supporter", programme, now, now + timedelta(days=1))

    async def _stop(self) -> None:
        if self.page is not None:
            await self.page.stop()
        if self._runtime is not None:
            runtime, self._runtime = self._runtime, None
            await runtime.__aexit__(None, None, None)
        await self.emulator.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()
