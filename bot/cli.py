"""The `peerdoor` command: init, check-config, run."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from importlib.resources import files

from bot.app import Runtime
from bot.config_file import load_config
from bot.errors import SetupError
from bot.keys import load_master_key, write_key_file
from bot.logs import setup_logging
from bot.settings import Settings, ensure_data_dir, load_settings, require_token
from conversations.forms import ServiceConfig
from storage import KeyRing


def example_config() -> str:
    return files("bot").joinpath("example_config.toml").read_text(encoding="utf-8")


def cmd_init(settings: Settings) -> None:
    """Write an example config and a new master key, never overwriting either."""
    config = settings.config
    if config.exists():
        print(f"kept your config {config}")
    else:
        config.write_text(example_config(), encoding="utf-8")
        print(f"wrote an example config to {config}: edit it for your service")
    key = settings.key_file
    if key.exists():
        print(f"kept your master key {key}")
    else:
        write_key_file(key, KeyRing.generate())
        print(
            f"wrote a new master key to {key} (mode 0600): back it up somewhere safe, "
            "apart from the data backups"
        )
    ensure_data_dir(settings)
    print("next: peerdoor check-config, then peerdoor run")


def cmd_check_config(settings: Settings) -> None:
    config = load_config(settings.config)
    for programme in config.programmes:
        asked = sum(1 for q in programme.form if q.answerable)
        print(f"{programme.id}: {asked} questions, languages {', '.join(programme.languages)}")
    print(f"{settings.config} is valid")


def cmd_run(settings: Settings) -> None:
    token = require_token(settings)
    config = load_config(settings.config)
    ensure_data_dir(settings)
    master_key = load_master_key(settings)
    setup_logging(settings.log_level)
    asyncio.run(_serve(settings, config, master_key, token))


async def _serve(settings: Settings, config: ServiceConfig, master_key: bytes, token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Runtime(settings, config, master_key, token):
        await stop.wait()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="peerdoor", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="write an example config and a new master key")
    sub.add_parser("check-config", help="validate the config file")
    sub.add_parser("run", help="run the bot (long polling)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        {"init": cmd_init, "check-config": cmd_check_config, "run": cmd_run}[args.command](
            settings
        )
    except SetupError as exc:
        print(f"peerdoor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
