"""`peerdoor check-config` beyond the config file: token, key, data directory, webhook mode."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ops.cli import example_config
from bot.ops.keys import decode_key, encode_key
from storage import KeyRing, Store, keystore_path
from tests.unit.test_cli import one_line_exit_2, peerdoor

SECRET = "s3cret_-" * 4
URL = "https://bot.example.org/telegram"


def ready(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "peerdoor.toml").write_text(example_config())
    return {
        "PEERDOOR_TELEGRAM_TOKEN": "123456:AAE-secret-token_xyz",
        "PEERDOOR_MASTER_KEY": encode_key(KeyRing.generate()),
        "PEERDOOR_WEBHOOK_URL": URL,
        "PEERDOOR_WEBHOOK_SECRET": SECRET,
    }


def test_check_config_webhook_ready(tmp_path: Path) -> None:
    env = ready(tmp_path)
    result = peerdoor(tmp_path, "check-config", "--webhook", **env)
    assert result.returncode == 0, result.stderr
    assert "hiv: 22 questions" in result.stdout
    assert "webhook: Telegram posts to https://bot.example.org/telegram" in result.stdout
    assert "127.0.0.1:8443" in result.stdout
    for secret in (SECRET, env["PEERDOOR_MASTER_KEY"], env["PEERDOOR_TELEGRAM_TOKEN"]):
        assert secret not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists(), "check-config creates nothing"


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("PEERDOOR_WEBHOOK_SECRET", "PEERDOOR_WEBHOOK_SECRET"),
        ("PEERDOOR_WEBHOOK_URL", "PEERDOOR_WEBHOOK_URL"),
        ("PEERDOOR_TELEGRAM_TOKEN", "@BotFather"),
        ("PEERDOOR_MASTER_KEY", "peerdoor init"),
    ],
)
def test_check_config_webhook_needs_everything(tmp_path: Path, drop: str, named: str) -> None:
    env = ready(tmp_path)
    del env[drop]
    one_line_exit_2(peerdoor(tmp_path, "check-config", "--webhook", **env), named)


def test_check_config_refuses_what_is_set_but_wrong(tmp_path: Path) -> None:
    env = ready(tmp_path)
    one_line_exit_2(
        peerdoor(tmp_path, "check-config", **{**env, "PEERDOOR_TELEGRAM_TOKEN": "nonsense"}),
        "does not look like a bot token",
    )
    one_line_exit_2(
        peerdoor(tmp_path, "check-config", **{**env, "PEERDOOR_MASTER_KEY": "short"}),
        "PEERDOOR_MASTER_KEY",
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    one_line_exit_2(
        peerdoor(tmp_path, "check-config", **{**env, "PEERDOOR_DATA_DIR": str(blocker)}),
        "data directory",
        "PEERDOOR_DATA_DIR",
    )
    # Without --webhook, bad webhook settings are not looked at; a missing key is only noted.
    result = peerdoor(tmp_path, "check-config", PEERDOOR_WEBHOOK_SECRET="bad secret")
    assert result.returncode == 0, result.stderr
    assert "master key: none yet" in result.stdout


def test_secrets_from_a_folder(tmp_path: Path) -> None:
    """Compose secrets (/run/secrets) and systemd credentials: one file per secret setting."""
    env = ready(tmp_path)
    folder = tmp_path / "secrets"
    folder.mkdir()
    for name in ("PEERDOOR_TELEGRAM_TOKEN", "PEERDOOR_MASTER_KEY", "PEERDOOR_WEBHOOK_SECRET"):
        (folder / name.lower()).write_text(env.pop(name) + "\n")
    result = peerdoor(
        tmp_path, "check-config", "--webhook", PEERDOOR_SECRETS_DIR=str(folder), **env
    )
    assert result.returncode == 0, result.stderr
    assert "telegram token: set" in result.stdout
    credentials = peerdoor(
        tmp_path, "check-config", "--webhook", CREDENTIALS_DIRECTORY=str(folder), **env
    )
    assert credentials.returncode == 0, credentials.stderr
    one_line_exit_2(
        peerdoor(tmp_path, "check-config", PEERDOOR_SECRETS_DIR=str(tmp_path / "nope")),
        "PEERDOOR_SECRETS_DIR",
    )


async def test_a_missing_erasure_key_store_is_refused_not_recreated(tmp_path: Path) -> None:
    """check-config and run: one line, exit 2, when people need the key store and it is gone."""
    env = ready(tmp_path)
    key = decode_key(env["PEERDOOR_MASTER_KEY"], "test")
    database = tmp_path / "data" / "peerdoor.db"
    database.parent.mkdir()
    store = await Store.open(database, KeyRing(key))
    try:
        async with store.unit() as u:
            await u.people.create(1, datetime.now(UTC))
    finally:
        await store.close()
    fine = peerdoor(tmp_path, "check-config", **env)
    assert fine.returncode == 0, fine.stderr
    assert f"erasure key store: {Path('data') / 'peerdoor.erasure-keys'}" in fine.stdout
    keystore_path(database).unlink()
    for command in ("check-config", "run"):
        one_line_exit_2(
            peerdoor(tmp_path, command, **env), "erasure key store", "is missing", "latest backup"
        )
    assert sorted(p.name for p in database.parent.iterdir()) == ["peerdoor.db"]
