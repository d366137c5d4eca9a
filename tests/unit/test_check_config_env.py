"""`peerdoor check-config` beyond the config file: token, key, data directory, webhook mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import example_config
from bot.keys import encode_key
from storage import KeyRing
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
