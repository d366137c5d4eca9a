"""The `peerdoor` command: init, check-config, run, start, sandbox, invite, audit, rotate-key,
backup, backup-keys, purge, report, export."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import uvloop

from bot.config_file import load_config
from bot.errors import SetupError
from bot.logs import setup_logging
from bot.ops import maintenance, reports_cli
from bot.ops.keys import encode_key, uses_environment, write_key_file
from bot.ops.preflight import check_environment
from bot.settings import (
    Settings,
    Webhook,
    ensure_data_dir,
    load_settings,
    require_token,
    webhook_settings,
)
from bot.telegram.app import Runtime
from conversations.forms import ServiceConfig
from storage import AuditReport, KeyRing, Purged, Store


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


def cmd_check_config(settings: Settings, webhook: bool = False) -> None:
    config = load_config(settings.config)
    for programme in config.programmes:
        asked = sum(1 for q in programme.form if q.answerable)
        print(f"{programme.id}: {asked} questions, languages {', '.join(programme.languages)}")
    print(f"{settings.config} is valid")
    for line in check_environment(settings, webhook):
        print(line)


def cmd_run(settings: Settings, webhook: bool = False) -> None:
    token = require_token(settings)
    hook = webhook_settings(settings) if webhook else None
    config = load_config(settings.config)
    ensure_data_dir(settings)
    setup_logging(settings.log_level)
    master_key = asyncio.run(maintenance.ready_master_key(settings, verify=True))
    # uvloop: 1.2-1.4x the intake rate of asyncio's own loop (benchmarks/README.md)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(settings, config, master_key, token, hook))


def cmd_start(settings: Settings) -> None:
    """`run` when a token is set; without one, how to get one, then the sandbox."""
    token = settings.telegram_token
    if token is not None and token.get_secret_value().strip():
        cmd_run(settings)
        return
    try:
        require_token(settings)
    except SetupError as exc:
        print(f"peerdoor: {exc}. Meanwhile, try the bot in the sandbox.", flush=True)
    cmd_sandbox(8080, None)


def cmd_sandbox(port: int, config: Path | None) -> None:
    from sandbox.command import run_sandbox  # aiohttp and the emulator: only when asked

    run_sandbox(port, config)


async def _serve(
    settings: Settings,
    config: ServiceConfig,
    master_key: bytes,
    token: str,
    hook: Webhook | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Runtime(settings, config, master_key, token, webhook=hook) as runtime:
        # After `peerdoor rotate-key` elsewhere, follow the new key instead of failing.
        runtime.store.reload_keys_with(maintenance.key_reloader(settings))
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
    key = await maintenance.ready_master_key(settings)
    return await maintenance.open_store(settings, KeyRing(key))


def cmd_rotate_key(settings: Settings) -> None:
    """A new master key; every data key re-wrapped under it; the old one kept aside."""

    def announce(new: bytes) -> None:
        print(f"New master key (shown only this once):\n\n  {encode_key(new)}\n")
        print(
            "Store it now where PEERDOOR_MASTER_KEY comes from. Re-wrapping the database under "
            "it... (if this stops before saying 'rotated', the database still uses the old key)",
            flush=True,
        )

    env = uses_environment(settings)
    done = asyncio.run(maintenance.rotate_key(settings, announce))
    resumed = " (finishing a rotation that had been interrupted)" if done.resumed else ""
    print(
        f"rotated the master key{resumed}: key id {done.old_id} -> {done.new_id}, "
        f"wrapped keys re-wrapped: {done.rewrapped}."
    )
    if env:
        print(
            "Now set PEERDOOR_MASTER_KEY to the new key and restart the bot. A bot still "
            "running with the old key writes nothing more and logs key.rotated_elsewhere."
        )
        old = "the old key (the previous PEERDOOR_MASTER_KEY)"
    else:
        print(f"  new key: {settings.key_file} (mode 0600): back it up now, apart from the data")
        print(f"  old key: {done.retired} (mode 0600)")
        print("A running bot picks up the new key by itself.")
        old = f"the old key ({done.retired})"
    print(
        f"Backups taken before now can be read only with {old}. Destroy it, here and in every "
        "copy, to make them unreadable: then people deleted before are gone from those backups "
        "too. Or keep it somewhere safe, apart from the backups, to be able to restore them."
    )


def cmd_backup(settings: Settings, target: Path) -> None:
    made = maintenance.backup(settings, target)
    print(f"backed up {settings.database} to {made.path}: {made.size:,} bytes, mode 0600")
    print(
        f"It does not contain the master key. It opens only with the master key whose id is "
        f"{made.key_id}: today's key, or after a rotation the file <key file>.retired-"
        f"{made.key_id}. Keep key backups apart from data backups."
    )
    print(
        f"Nor does it contain the erasure key store {made.keystore}: it opens with the one you "
        "have when you restore it, so people deleted in between stay deleted. Back that file up "
        "on its own, apart from the data backups, and keep only its latest copy."
    )


def cmd_backup_keys(settings: Settings, target: Path) -> None:
    made = maintenance.backup_keys(settings, target)
    print(f"copied the erasure key store {made.keystore} to {made.path}: {made.size:,} bytes")
    print(
        "This replaced the previous copy there: keep only this latest one, apart from the data "
        "backups (an older copy would still hold the keys of people deleted since)."
    )


def cmd_purge(settings: Settings) -> None:
    config = load_config(settings.config)
    purged = asyncio.run(_purge(settings, config))
    print(
        f"purged: {purged.drafts} unfinished forms, {purged.referrals} closed referrals, "
        f"{purged.people} people erased entirely"
    )


async def _purge(settings: Settings, config: ServiceConfig) -> Purged:
    store = await _open_store(settings)
    try:
        return await maintenance.purge(store, config, datetime.now(UTC))
    finally:
        await store.close()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="peerdoor", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="write an example config and a new master key")
    check = sub.add_parser("check-config", help="validate the config file and the settings")
    check.add_argument("--webhook", action="store_true", help="also the webhook mode settings")
    run = sub.add_parser("run", help="run the bot (long polling; --webhook for production)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve Telegram's webhook on PEERDOOR_LISTEN instead of polling",
    )
    invite = sub.add_parser("invite", help="make a one-time code to join a programme")
    invite.add_argument("role", choices=["coordinator", "supporter"])
    invite.add_argument("--programme", required=True, help="the programme id from the config")
    invite.add_argument("--days", type=int, default=7, help="how long the code works")
    audit = sub.add_parser("audit", help="the audit trail")
    audit.add_argument("what", choices=["verify"])
    sub.add_parser(
        "rotate-key", help="re-wrap everything under a new master key; keep the old one aside"
    )
    backup = sub.add_parser("backup", help="copy the database while the bot runs (no key)")
    backup.add_argument("path", type=Path, help="a new file; never overwritten")
    keys = sub.add_parser(
        "backup-keys", help="copy the erasure key store, replacing the previous copy"
    )
    keys.add_argument("path", type=Path, help="where the latest copy is kept (replaced)")
    sub.add_parser("purge", help="erase what is past its retention period now")
    reports_cli.add_commands(sub)  # report, export
    sandbox = sub.add_parser(
        "sandbox", help="try the bot in a web page, against a built-in emulated Telegram"
    )
    sandbox.add_argument("--port", type=int, default=8080, help="on 127.0.0.1; 0 for any free")
    sandbox.add_argument(
        "--config", type=Path, help="default: PEERDOOR_CONFIG, ./peerdoor.toml, or the example"
    )
    sub.add_parser("start", help="run the bot if a token is set, else open the sandbox")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "invite":
            cmd_invite(settings, args.role, args.programme, args.days)
        elif args.command == "audit":
            return cmd_audit_verify(settings)
        elif args.command == "backup":
            cmd_backup(settings, args.path)
        elif args.command == "backup-keys":
            cmd_backup_keys(settings, args.path)
        elif args.command == "sandbox":
            cmd_sandbox(args.port, args.config)
        elif args.command in reports_cli.COMMANDS:
            return reports_cli.run(settings, args)
        elif args.command == "check-config":
            cmd_check_config(settings, args.webhook)
        elif args.command == "run":
            cmd_run(settings, args.webhook)
        else:
            commands = {
                "init": cmd_init,
                "rotate-key": cmd_rotate_key,
                "purge": cmd_purge,
                "start": cmd_start,
            }
            commands[args.command](settings)
    except SetupError as exc:
        print(f"peerdoor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
