"""The `peerdoor` command: init, check-config, run, start, sandbox, invite, revoke, audit,
rotate-key, backup, backup-keys, purge, report, export, cards."""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from bot.services.revocation import Revoked, configured, revoke_by_id
from bot.settings import (
    Settings,
    Webhook,
    ensure_data_dir,
    load_settings,
    require_token,
    webhook_settings,
)
from bot.telegram.app import Runtime
from conversations.draft import most_questions
from conversations.forms import ServiceConfig, start_payload
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
    print("next: peerdoor check-config, then peerdoor start")


def cmd_check_config(settings: Settings, webhook: bool = False) -> None:
    config = load_config(settings.config)
    for programme in config.programmes:
        asked = most_questions(programme)  # what the form's {questions} says
        print(
            f"{programme.id}: {asked} questions at most, "
            f"languages {', '.join(programme.languages)}"
        )
        if programme.sources:  # each source's link, to print with `peerdoor cards`
            bot = config.bot.username or "<bot username>"
            links = ", ".join(
                f"t.me/{bot}?start={start_payload(programme.id, s.id)}" for s in programme.sources
            )
            print(f"  sources: {links}")
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


def cmd_start(settings: Settings, config: Path | None = None) -> None:
    """`run` when a token is set; without one, how to get one, then the sandbox (with
    ``config``, the --config given, if any)."""
    token = settings.telegram_token
    if token is not None and token.get_secret_value().strip():
        cmd_run(settings)
        return
    try:
        require_token(settings)
    except SetupError as exc:
        print(f"peerdoor: {exc}. Meanwhile, try the bot in the sandbox.", flush=True)
    cmd_sandbox(8080, config)


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
        settle_heap()
        await stop.wait()


def settle_heap() -> None:
    """Keep what start-up loaded (modules, the config, the catalogs: about 90,000 objects that
    live as long as the process) out of the garbage collector's full passes.

    Each full pass walked all of them and held the event loop 30-65 ms, long enough for requests
    paced 1/29 s apart to bunch up and draw Telegram's 429 (benchmarks/README.md, "Collector
    pauses"). Frozen objects are still freed when nothing refers to them; only a reference
    cycle among them would stay."""
    gc.collect()
    gc.freeze()


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


def cmd_revoke(settings: Settings, role: str, programme_id: str, telegram_id: int) -> int:
    """Take a coordinator's or supporter's role away now: their referrals go back to the
    queue (the coordinators are told the reference only) and nothing more reaches them."""
    config = load_config(settings.config)
    if config.programme(programme_id) is None:
        ids = ", ".join(p.id for p in config.programmes)
        raise SetupError(f"no programme {programme_id!r} in {settings.config}: use one of {ids}")
    if role == "coordinator" and configured(config, telegram_id, programme_id):
        raise SetupError(
            f"{telegram_id} is listed in coordinators of {programme_id} in {settings.config}: "
            "take them out there first, then run this again (or restart the bot)"
        )
    done = asyncio.run(_revoke(settings, config, role, programme_id, telegram_id))
    if done is None:
        print(f"{telegram_id} has no {role} role in {programme_id}: nothing changed")
        return 1
    print(f"Took away the {role} role in {programme_id} from {telegram_id}.")
    if role == "coordinator":
        print(f"Back in the queue: {len(done.handed_back)} ({', '.join(done.handed_back)})")
    else:
        print(f"Offers withdrawn and matches ended: {done.ended}")
    return 0


async def _revoke(
    settings: Settings, config: ServiceConfig, role: str, programme_id: str, telegram_id: int
) -> Revoked | None:
    store = await _open_store(settings)
    try:
        now = datetime.now(UTC)
        return await revoke_by_id(store, config, telegram_id, role, programme_id, now)
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
    if purged.leftovers:
        print(
            f"removed the rows of {purged.leftovers} people deleted before a restore "
            "(they came back with the backup; nothing could open them)"
        )


async def _purge(settings: Settings, config: ServiceConfig) -> Purged:
    store = await _open_store(settings)
    try:
        return await maintenance.purge(store, config, datetime.now(UTC))
    finally:
        await store.close()


def cmd_cards(
    settings: Settings,
    programme_id: str,
    source_id: str,
    language: str | None,
    bot: str | None,
    out: Path,
) -> None:
    """Printable card and leaflet for one source's link. Needs the config only: no Telegram."""
    from bot.i18n import load_catalog
    from bot.ops import cards  # fpdf2, segno and Pillow: only when asked

    config = load_config(settings.config)
    catalog = load_catalog()
    request = cards.check_request(config, catalog, programme_id, source_id, language, bot)
    made, warnings = cards.make_cards(request, catalog, out)
    for item in made:
        width, height = cards.SIZES[item.size]
        print(f"{item.size} ({width:g} x {height:g} mm): {item.pdf} (print) and {item.png}")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


#: What each command does, for `peerdoor COMMAND --help`.
DESCRIPTIONS: dict[str, str] = {
    "init": (
        "Write an example config (peerdoor.toml, or the --config path) and a new master key "
        "(peerdoor.key, or PEERDOOR_KEY_FILE; mode 0600), and make the data folder. An existing "
        "config or key is kept, never overwritten."
    ),
    "check-config": (
        "Check the config file, the token, the master key, the erasure key store and the data "
        "folder the way `peerdoor run` would, without starting the bot or writing anything. A "
        "problem is one line naming it and the fix, with exit status 2."
    ),
    "run": (
        "Run the bot until Ctrl+C: long polling by default; with --webhook, Telegram's webhook "
        "(production). Needs PEERDOOR_TELEGRAM_TOKEN and the master key."
    ),
    "start": (
        "Run the bot (as `peerdoor run`) when PEERDOOR_TELEGRAM_TOKEN is set. Without a token, "
        "say how to get one and open the sandbox meanwhile."
    ),
    "invite": (
        "Make a one-time code for a new coordinator or peer supporter of one programme. They send "
        "/join CODE to the bot in a private chat; the code works once, for --days days."
    ),
    "revoke": (
        "Take a coordinator's or peer supporter's role in one programme away at once: every "
        "relay, notification and pending hand-over to them stops, and the referrals they held go "
        "back to the queue. A coordinator named in the config is removed there instead."
    ),
    "audit": (
        "verify: check that the audit trail (who did what and when, never what was written) is "
        "complete and unchanged. Exit status 1 if it is broken."
    ),
    "rotate-key": (
        "Make a new master key and re-wrap every data key under it; a running bot follows. The "
        "old key is kept aside as <key file>.retired-<id> to open backups taken before now: "
        "destroy it to make those backups unreadable."
    ),
    "backup": (
        "Copy the database to a new file (mode 0600) while the bot runs. The copy holds neither "
        "the master key nor the erasure key store: back those up apart."
    ),
    "backup-keys": (
        "Copy the erasure key store, replacing the previous copy at that path. Keep only this "
        "latest copy, apart from the data backups."
    ),
    "purge": (
        "Erase now what is past the config's retention periods: unfinished forms, closed "
        "referrals, and people with nothing left. The running bot also does this every day."
    ),
    "report": (
        "Charts and numbers for the service and its commissioners, written to a new folder. "
        "Counts only, with small counts suppressed: no answers, no names."
    ),
    "export": (
        "Referrals with their answers as CSV, JSON or FHIR, for the service's case system. The "
        "file holds personal data (mode 0600): move it somewhere safe, then delete it."
    ),
    "cards": (
        "Write a printable business card and A6 leaflet (PDF and PNG) with a QR code of one "
        "source's link, the link as text and a short discreet invitation. Needs the config only."
    ),
    "sandbox": (
        "Try the bot in a web page, against a built-in emulated Telegram: no token needed, and "
        "its chats, data and key are gone when it stops."
    ),
}
#: The commands that read the config file: each takes --config (else PEERDOOR_CONFIG).
READS_CONFIG = (
    "init", "check-config", "run", "start", "invite", "revoke", "purge", "report", "export",
    "cards",
)  # fmt: skip
CONFIG_HELP = "the config file (default: PEERDOOR_CONFIG, else peerdoor.toml)"


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
    revoke = sub.add_parser(
        "revoke", help="take a coordinator's or supporter's role away (referrals go back)"
    )
    revoke.add_argument("role", choices=["coordinator", "supporter"])
    revoke.add_argument("telegram_id", type=int, help="their Telegram user id")
    revoke.add_argument("--programme", required=True, help="the programme id from the config")
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
    cards = sub.add_parser(
        "cards", help="a printable card and A6 leaflet with a QR code of a source's link"
    )
    cards.add_argument("--programme", required=True, help="the programme id from the config")
    cards.add_argument(
        "--source",
        required=True,
        help="one of the programme's source ids, or its professionals' link (refer)",
    )
    cards.add_argument("--language", help="the card's language (default: the programme's first)")
    cards.add_argument("--bot", help="the bot's username (default: username under [bot])")
    cards.add_argument("--out", type=Path, default=Path("cards"), help="folder (default: cards)")
    for name, command in sub.choices.items():
        command.description = DESCRIPTIONS[name]
        if name in READS_CONFIG:
            command.add_argument("--config", type=Path, help=CONFIG_HELP)
    return p


def with_config(settings: Settings, args: argparse.Namespace) -> Settings:
    """``--config PATH`` wins over PEERDOOR_CONFIG (the sandbox reads its own)."""
    path = getattr(args, "config", None)
    if path is None or args.command not in READS_CONFIG:
        return settings
    return settings.model_copy(update={"config": path})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = with_config(load_settings(), args)
        if args.command == "invite":
            cmd_invite(settings, args.role, args.programme, args.days)
        elif args.command == "revoke":
            return cmd_revoke(settings, args.role, args.programme, args.telegram_id)
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
        elif args.command == "start":
            cmd_start(settings, args.config)
        elif args.command == "cards":
            cmd_cards(settings, args.programme, args.source, args.language, args.bot, args.out)
        else:
            commands = {
                "init": cmd_init,
                "rotate-key": cmd_rotate_key,
                "purge": cmd_purge,
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
