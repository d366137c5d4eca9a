"""Settings from PEERDOOR_* environment variables (see the README's configuration reference)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SetupError

TELEGRAM_API = "https://api.telegram.org"
#: What Telegram accepts as a webhook secret_token is 1-256 of these characters; fewer than 32
#: random ones could be guessed by anyone who can reach the webhook.
SECRET_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")
SECRET_LENGTH = (32, 256)
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
#: The ports Telegram delivers webhooks to.
WEBHOOK_PORTS = (443, 80, 88, 8443)
HEALTH_PATH = "/healthz"
MAKE_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEERDOOR_", extra="ignore")

    telegram_token: SecretStr | None = None
    telegram_api_url: str = TELEGRAM_API
    config: Path = Path("peerdoor.toml")
    data_dir: Path = Path("data")
    master_key: SecretStr | None = None
    key_file: Path = Path("peerdoor.key")
    log_level: str = "INFO"
    #: Keep to Telegram's flood limits. Turn off only for benchmarks against an emulator.
    rate_limit: bool = True
    #: With rate_limit: about one message a second into each private chat, as Telegram asks
    #: (bot/telegram/pacing.py). The end-to-end tests turn it off: it costs them a second of
    #: real time per message.
    pace_private_chats: bool = True
    #: Webhook mode (`peerdoor run --webhook`): the public https URL the reverse proxy serves,
    #: the secret Telegram sends back in a header, and where the bot itself listens.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen: str = "127.0.0.1:8443"

    @property
    def database(self) -> Path:
        return self.data_dir / "peerdoor.db"

    @property
    def api_url(self) -> str:
        return self.telegram_api_url.rstrip("/")


def load_settings() -> Settings:
    """PEERDOOR_* from the environment; secrets also from files in a secrets directory.

    The directory is PEERDOOR_SECRETS_DIR (compose: /run/secrets), else systemd's
    CREDENTIALS_DIRECTORY (LoadCredential=). A file there named like the setting
    (`peerdoor_telegram_token`, `peerdoor_master_key`, `peerdoor_webhook_secret`) is its value;
    an environment variable of the same name wins.
    """
    secrets_dir = secrets_directory()
    try:
        return Settings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]  # pydantic-settings
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "PEERDOOR_" + str(first["loc"][0]).upper() if first["loc"] else "PEERDOOR_*"
        raise SetupError(f"{name} is not valid: {first['msg']}. Fix or unset it.") from exc


def require_token(settings: Settings) -> str:
    token = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    if not token:
        raise SetupError(
            "PEERDOOR_TELEGRAM_TOKEN is not set: in Telegram, message @BotFather, send /newbot, "
            "then run: export PEERDOOR_TELEGRAM_TOKEN='<the token it gives you>'"
        )
    if not _TOKEN_SHAPE.fullmatch(token):
        raise SetupError(
            "PEERDOOR_TELEGRAM_TOKEN does not look like a bot token (it should look like "
            "123456:ABC-DEF...): copy it again from @BotFather"
        )
    return token


def ensure_data_dir(settings: Settings) -> Path:
    path = settings.data_dir
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SetupError(
            f"the data directory {path} cannot be written ({exc.strerror}): create it with write "
            "access for this user, or set PEERDOOR_DATA_DIR to one that can"
        ) from exc
    return path


def secrets_directory() -> Path | None:
    for name in ("PEERDOOR_SECRETS_DIR", "CREDENTIALS_DIRECTORY"):
        value = os.environ.get(name, "").strip()
        if value:
            path = Path(value)
            if not path.is_dir():
                raise SetupError(
                    f"{name} is not valid: {path} is not a directory. Point it at the folder "
                    "holding the secret files, or unset it."
                )
            return path
    return None


@dataclass(frozen=True)
class Webhook:
    """Webhook mode, validated: Telegram POSTs to `url`; the bot listens on host:port."""

    url: str
    path: str
    secret: str = field(repr=False)
    host: str
    port: int


def webhook_settings(settings: Settings) -> Webhook:
    """The webhook settings, or a SetupError naming the setting and the fix."""
    secret = settings.webhook_secret.get_secret_value().strip() if settings.webhook_secret else ""
    if not secret:
        raise SetupError(
            "PEERDOOR_WEBHOOK_SECRET is not set: webhook mode needs one. Make one with "
            f"{MAKE_SECRET} and set it (or put it in the secrets directory)"
        )
    shortest, longest = SECRET_LENGTH
    if not SECRET_CHARACTERS.fullmatch(secret) or not shortest <= len(secret) <= longest:
        raise SetupError(
            f"PEERDOOR_WEBHOOK_SECRET is not valid: use {shortest} to {longest} random characters "
            f"of A-Z, a-z, 0-9, _ and -. Make one with {MAKE_SECRET}"
        )
    url, path = _webhook_url(settings.webhook_url, secret)
    host, port = _listen(settings.listen)
    return Webhook(url, path, secret, host, port)


def _webhook_url(value: str | None, secret: str) -> tuple[str, str]:
    url = (value or "").strip()
    example = "for example https://bot.example.org/telegram"
    if not url:
        raise SetupError(
            "PEERDOOR_WEBHOOK_URL is not set: webhook mode needs the public https address your "
            f"reverse proxy serves, {example}"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    local = parts is not None and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if (
        parts is None
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or not (parts.scheme == "https" or (parts.scheme == "http" and local))
    ):
        raise SetupError(
            f"PEERDOOR_WEBHOOK_URL is not valid: use an https address with a path and no query, "
            f"{example}"
        )
    if parts.scheme == "https" and port is not None and port not in WEBHOOK_PORTS:
        ports = ", ".join(map(str, WEBHOOK_PORTS))
        raise SetupError(
            f"PEERDOOR_WEBHOOK_URL is not valid: Telegram only delivers to ports {ports}; "
            "serve the webhook on one of them (443 is usual)"
        )
    if secret in url:
        raise SetupError(
            "PEERDOOR_WEBHOOK_URL contains the webhook secret: addresses end up in logs. Use a "
            "path without it; the secret goes only in PEERDOOR_WEBHOOK_SECRET"
        )
    path = parts.path or "/"
    if path == HEALTH_PATH:
        raise SetupError(
            f"PEERDOOR_WEBHOOK_URL is not valid: {HEALTH_PATH} is the health check; use another "
            f"path, {example}"
        )
    return url, path


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SetupError(
            f"PEERDOOR_LISTEN is not valid ({value!r}): use host:port, like 127.0.0.1:8443 "
            "(or 0.0.0.0:8443 in a container)"
        )
    return host, int(port)
