"""The `peerdoor` command: init, check-config, run."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from importlib.resources import files

from bot.app import Runtime
from bot.config_file import load_config
from bot.errors import SetupError
from bot.keys import load_master_key, write_key_file
from bot.logs import setup_logging
from bot.settings import Settings, ensure_data_dir, load_settings, require_token
from conversations.forms import ServiceConfig
from storage import AuditReport, KeyRing, Store, WrongMasterKey


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


def cmd_invite(settings: Settings, role: str, programme_id: str, days: int) -> None:
    """Make a one-time code that turns whoever sends /join CODE into a coordinator."""
    config = load_config(settings.config)
    if config.programme(programme_id) is None:
        ids = ", ".join(p.id for p in config.programmes)
        raise SetupError(f"no programme {programme_id!r} in {settings.config}: use one of {ids}")
    code = asyncio.run(_invite(settings, role, programme_id, days))
    print(f"One-time code for a {role} of {programme_id}, valid for {days} days:")
    print(f"  {code}")
    print(f"They send the bot, in a private chat:  /join {code}")


async def _invite(settings: Settings, role: str, programme_id: str, days: int) -> str:
    store = await _open_store(settings)
    try:
        now = datetime.now(UTC)
        async with store.unit() as uow:
            code = await uow.invites.create(role, programme_id, now, now + timedelta(days=days))
            await uow.audit.record(None, f"invite:{role}", now, detail=programme_id)
        return code
    finally:
        await store.close()


def cmd_audit_verify(settings: Settings) -> int:
    report = asyncio.run(_audit(settings))
    if report.ok:
        print(f"audit trail intact: {report.entries} entries")
        return 0
    print(f"audit trail BROKEN at entry {report.seq}: {report.problem}", file=sys.stderr)
    return 1


async def _audit(settings: Settings) -> AuditReport:
    store = await _open_store(settings)
    try:
        return await store.verify_audit()
    finally:
        await store.close()


async def _open_store(settings: Settings) -> Store:
    ensure_data_dir(settings)
    try:
        return await Store.open(settings.database, KeyRing(load_master_key(settings)))
    except WrongMasterKey as exc:
        raise SetupError(
            f"the master key does not match the database {settings.database}: use the key it "
            "was created with"
        ) from exc


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="peerdoor", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="write an example config and a new master key")
    sub.add_parser("check-config", help="validate the config file")
    sub.add_parser("run", help="run the bot (long polling)")
    invite = sub.add_parser("invite", help="make a one-time code to join a programme")
    invite.add_argument("role", choices=["coordinator", "supporter"])
    invite.add_argument("--programme", required=True, help="the programme id from the config")
    invite.add_argument("--days", type=int, default=7, help="how long the code works")
    audit = sub.add_parser("audit", help="the audit trail")
    audit.add_argument("what", choices=["verify"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "invite":
            cmd_invite(settings, args.role, args.programme, args.days)
        elif args.command == "audit":
            return cmd_audit_verify(settings)
        else:
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
