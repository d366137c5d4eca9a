"""Settings from PEERDOOR_* environment variables (see the README's configuration reference)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SetupError

TELEGRAM_API = "https://api.telegram.org"


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

    @property
    def database(self) -> Path:
        return self.data_dir / "peerdoor.db"

    @property
    def api_url(self) -> str:
        return self.telegram_api_url.rstrip("/")


def load_settings() -> Settings:
    try:
        return Settings()
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
    if ":" not in token:
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
