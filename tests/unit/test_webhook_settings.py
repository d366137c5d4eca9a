"""Webhook mode settings, `peerdoor check-config` of the environment, and the secrets folder."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from bot.errors import SetupError
from bot.ops.cli import example_config
from bot.ops.keys import encode_key
from bot.settings import Settings, load_settings, webhook_settings
from bot.telegram.webhook import SECRET_HEADER, WebhookServer
from storage import KeyRing
from tests.unit.test_cli import one_line_exit_2, peerdoor

SECRET = "s3cret_-" * 4
URL = "https://bot.example.org/telegram"


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {"webhook_url": URL, "webhook_secret": SECRET}
    return Settings(**{**base, **values})


def test_good_webhook_settings() -> None:
    hook = webhook_settings(settings(listen="0.0.0.0:8443"))
    assert (hook.url, hook.path, hook.host, hook.port) == (URL, "/telegram", "0.0.0.0", 8443)
    assert SECRET not in repr(hook)
    local = webhook_settings(settings(webhook_url="http://127.0.0.1:9000/hook", listen="[::1]:9"))
    assert (local.path, local.host, local.port) == ("/hook", "::1", 9)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"webhook_secret": None}, "PEERDOOR_WEBHOOK_SECRET is not set"),
        ({"webhook_secret": "has space"}, "PEERDOOR_WEBHOOK_SECRET is not valid"),
        ({"webhook_secret": "x" * 257}, "PEERDOOR_WEBHOOK_SECRET is not valid"),
        ({"webhook_secret": "x"}, "PEERDOOR_WEBHOOK_SECRET is not valid"),
        ({"webhook_secret": SECRET[:31]}, "secrets.token_urlsafe(32)"),
        ({"webhook_secret": "ünïcode"}, "PEERDOOR_WEBHOOK_SECRET is not valid"),
        ({"webhook_url": None}, "PEERDOOR_WEBHOOK_URL is not set"),
        ({"webhook_url": "http://bot.example.org/t"}, "PEERDOOR_WEBHOOK_URL is not valid"),
        ({"webhook_url": "https://bot.example.org/t?a=1"}, "PEERDOOR_WEBHOOK_URL is not valid"),
        ({"webhook_url": "https://u:p@bot.example.org/t"}, "PEERDOOR_WEBHOOK_URL is not valid"),
        ({"webhook_url": "bot.example.org/t"}, "PEERDOOR_WEBHOOK_URL is not valid"),
        ({"webhook_url": "https://bot.example.org:8080/t"}, "ports 443, 80, 88, 8443"),
        ({"webhook_url": "https://bot.example.org/healthz"}, "/healthz is the health check"),
        ({"webhook_url": f"{URL}/{SECRET}"}, "contains the webhook secret"),
        ({"listen": "8443"}, "PEERDOOR_LISTEN is not valid"),
        ({"listen": "127.0.0.1:http"}, "PEERDOOR_LISTEN is not valid"),
        ({"listen": "127.0.0.1:70000"}, "PEERDOOR_LISTEN is not valid"),
    ],
)
def test_bad_webhook_settings_name_the_setting(values: dict[str, Any], named: str) -> None:
    with pytest.raises(SetupError) as caught:
        webhook_settings(settings(**values))
    message = str(caught.value)
    assert named in message
    assert "\n" not in message
    assert SECRET not in message


def test_secrets_folder_fills_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose secrets (/run/secrets) and systemd credentials: one file per secret setting."""
    for name in list(os.environ):
        if name.startswith("PEERDOOR_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)
    (tmp_path / "peerdoor_telegram_token").write_text("123:from-file\n")
    (tmp_path / "PEERDOOR_WEBHOOK_SECRET").write_text(SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    loaded = load_settings()
    assert loaded.telegram_token is not None
    assert loaded.telegram_token.get_secret_value() == "123:from-file"
    assert webhook_settings(loaded.model_copy(update={"webhook_url": URL})).secret == SECRET
    monkeypatch.setenv("PEERDOOR_TELEGRAM_TOKEN", "456:from-env")
    assert load_settings().telegram_token.get_secret_value() == "456:from-env"  # type: ignore[union-attr]
    monkeypatch.setenv("PEERDOOR_SECRETS_DIR", str(tmp_path / "missing"))
    with pytest.raises(SetupError, match="PEERDOOR_SECRETS_DIR is not valid"):
        load_settings()


async def test_server_health_and_refusals(unused_tcp_port: int) -> None:
    """The server alone: 503 while unhealthy, 403 on a wrong secret, 200 queues the update."""
    state = {"healthy": False}
    app: Any = SimpleNamespace(running=True, bot=None, update_queue=asyncio.Queue())
    hook = webhook_settings(
        settings(
            webhook_url=f"http://127.0.0.1:{unused_tcp_port}/hook",
            listen=f"127.0.0.1:{unused_tcp_port}",
        )
    )
    server = WebhookServer(app, hook, lambda: state["healthy"])
    await server.start()
    base = f"http://127.0.0.1:{unused_tcp_port}"
    update = {
        "update_id": 1,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}},
    }
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as reply:
                assert reply.status == 503
                assert json.loads(await reply.text()) == {"status": "unavailable"}
            state["healthy"] = True
            async with http.get(f"{base}/healthz") as reply:
                assert reply.status == 200
            async with http.post(f"{base}/hook", json=update, headers={SECRET_HEADER: "x"}) as r:
                assert r.status == 403
            assert app.update_queue.empty()
            async with http.post(
                f"{base}/hook", json=update, headers={SECRET_HEADER: SECRET}
            ) as r:
                assert r.status == 200
            assert (await app.update_queue.get()).update_id == 1
            async with http.post(
                f"{base}/other", json=update, headers={SECRET_HEADER: SECRET}
            ) as r:
                assert r.status == 404
            app.running = False
            async with http.post(
                f"{base}/hook", json=update, headers={SECRET_HEADER: SECRET}
            ) as r:
                assert r.status == 503
    finally:
        await server.stop()


def test_a_short_webhook_secret_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    """`peerdoor run --webhook` with a guessable secret: one line naming the setting, exit 2."""
    (tmp_path / "peerdoor.toml").write_text(example_config())
    env = {
        "PEERDOOR_TELEGRAM_TOKEN": "123456:AAE-secret-token_xyz",
        "PEERDOOR_MASTER_KEY": encode_key(KeyRing.generate()),
        "PEERDOOR_WEBHOOK_URL": URL,
        "PEERDOOR_WEBHOOK_SECRET": "a",
    }
    for command in (("run", "--webhook"), ("check-config", "--webhook")):
        one_line_exit_2(
            peerdoor(tmp_path, *command, **env),
            "PEERDOOR_WEBHOOK_SECRET",
            "32",
            'python3 -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    assert not (tmp_path / "data").exists()
