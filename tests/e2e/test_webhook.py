"""`peerdoor run --webhook`: Telegram's webhook with the secret token checked, and /healthz.

The bot runs as a real process against the emulator, which (like Telegram) POSTs each update to
the URL the bot gave setWebhook, with the secret in X-Telegram-Bot-Api-Secret-Token. Forged
updates are POSTed by hand.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from typing import Any

import aiohttp
import pytest

from sandbox.emulator import BotApiEmulator, ScriptedUser, wait_until
from tests.e2e.harness import BotFiles, wait_for_log

pytestmark = pytest.mark.slow

SECRET = "w3bhook-Secret_" + "x" * 32
HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/tg/updates"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebhookBot:
    """`python -m bot.ops.cli run --webhook` listening on 127.0.0.1:<free port>."""

    def __init__(self, files: BotFiles, emulator: BotApiEmulator) -> None:
        self.files, self.emulator = files, emulator
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        self.health = f"http://127.0.0.1:{self.port}/healthz"
        self.log = files.root / "bot.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **self.files.env(self.emulator),
            "PEERDOOR_WEBHOOK_URL": self.url,
            "PEERDOOR_WEBHOOK_SECRET": SECRET,
            "PEERDOOR_LISTEN": f"127.0.0.1:{self.port}",
        }
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.ops.cli", "run", "--webhook",
                env=env, cwd=self.files.root, stdout=log, stderr=log,
            )  # fmt: skip
        await wait_for_log(self.log, "bot.started", offset=offset)

    async def terminate(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 20)
        return self.process.returncode if self.process.returncode is not None else -1


def start_update(person: ScriptedUser, update_id: int, text: str = "/start hiv") -> dict[str, Any]:
    """A message update as Telegram would send it, built by hand (ids far from the emulator's)."""
    command = text.split()[0]
    person.chat.exists = True  # the emulator accepts replies to this chat
    sender = {"id": person.id, "is_bot": False, "first_name": "Sam", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": person.id, "type": "private", "first_name": "Sam"},
            "from": sender,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


def is_privacy_notice(message: Any) -> bool:
    return any((b.data or "").startswith("c:y:") for row in message.buttons for b in row)


async def test_webhook_checks_the_secret_and_serves_health(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    bot = WebhookBot(files, emulator)
    await bot.start()
    try:
        hook = emulator.webhook
        assert hook["url"] == bot.url
        assert hook["secret_token"] == SECRET
        assert emulator.calls("setWebhook") == 1
        assert emulator.calls("getUpdates") == 0

        async with aiohttp.ClientSession() as http:
            async with http.get(bot.health) as reply:
                assert reply.status == 200
                assert await reply.json() == {"status": "ok"}

            # Forged: wrong secret, no secret. 403, and nothing reaches the bot's handlers.
            forged = emulator.user(7101, "Sam")
            for headers in ({HEADER: "not-the-secret"}, {HEADER: SECRET[:-1]}, {}):
                update = start_update(forged, 900_001)
                async with http.post(bot.url, json=update, headers=headers) as reply:
                    assert reply.status == 403, headers
            # The same update with the right secret: the welcome and the privacy notice.
            update = start_update(forged, 900_001)
            async with http.post(bot.url, json=update, headers={HEADER: SECRET}) as reply:
                assert reply.status == 200
            await forged.wait_for(is_privacy_notice)
            # A person's updates are handled in order: had a forged one reached the handlers,
            # its welcome would be here too, before this one. One notice: none did.
            assert sum(is_privacy_notice(m) for m in forged.bot_messages) == 1

            # Not JSON, with the right secret: refused, the bot carries on.
            async with http.post(bot.url, data=b"{nope", headers={HEADER: SECRET}) as reply:
                assert reply.status == 400
            async with http.get(bot.url) as reply:
                assert reply.status == 405

        # Telegram's own delivery (the emulator POSTs with the secret from setWebhook).
        alex = emulator.user(7102, "Alex")
        await alex.send("/start hiv")
        await alex.wait_for(is_privacy_notice)
        await alex.press("Yes, I agree")
        await alex.wait_for(lambda m: not is_privacy_notice(m) and bool(m.buttons))
        assert {d.status for d in emulator.webhook_deliveries} == {200}
    finally:
        assert await bot.terminate() == 0

    log = bot.log.read_text()
    assert "webhook.rejected reason=secret_token" in log
    assert "bot.stopped" in log
    assert SECRET not in log
    assert "not-the-secret" not in log
    assert "/start" not in log and "Sam" not in log
    assert emulator.webhook["url"] == bot.url, "the webhook stays set: Telegram keeps updates"


async def test_sigterm_finishes_the_update_in_hand(
    files: BotFiles, emulator: BotApiEmulator
) -> None:
    bot = WebhookBot(files, emulator)
    await bot.start()
    people = [emulator.user(7200 + n, f"P{n}") for n in range(4)]
    # The first person's reply is held up: Telegram says "retry after 1 s" and the bot waits.
    held = emulator.fail_next("sendMessage", status=429, retry_after=1, chat_id=people[0].id)
    try:
        async with aiohttp.ClientSession() as http:
            for n, person in enumerate(people):
                update = start_update(person, 910_000 + n)
                async with http.post(bot.url, json=update, headers={HEADER: SECRET}) as reply:
                    assert reply.status == 200
        await wait_until(
            emulator.world, lambda: held.triggered, 10, lambda: "the reply was never attempted"
        )
        loop = asyncio.get_running_loop()
        assert not any(is_privacy_notice(m) for m in people[0].bot_messages)
        started = loop.time()
        assert await bot.terminate() == 0  # SIGTERM while that update is in hand
        stopped_in = loop.time() - started
    finally:
        await bot.terminate()
    for person in people:
        assert any(is_privacy_notice(m) for m in person.bot_messages), person.transcript()
    assert 0.5 < stopped_in < 15, stopped_in
    log = bot.log.read_text()
    assert "webhook.closed" in log
    assert log.rindex("webhook.closed") < log.rindex("bot.stopped")

    # Started again: the same webhook, and the bot answers where it left off.
    await bot.start()
    try:
        await people[0].press("Yes, I agree")
        await people[0].wait_for(lambda m: not is_privacy_notice(m) and bool(m.buttons))
    finally:
        assert await bot.terminate() == 0
