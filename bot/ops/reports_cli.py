"""`peerdoor report` and `peerdoor export`: the operator's numbers and the case-system files."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bot.config_file import load_config
from bot.errors import SetupError
from bot.ops import export, fhir, maintenance, report, report_html
from bot.ops.private_files import refuse_existing, write_private
from bot.settings import Settings, ensure_data_dir
from conversations.forms import Programme
from storage import KeyRing, Store

COMMANDS = ("report", "export")
log = logging.getLogger("peerdoor.reports")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-01-31") from exc


def _threshold(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError("the threshold must be 2 or more")
    return value


def add_commands(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser(
        "report", help="charts and numbers for the service and its commissioners (counts only)"
    )
    rep.add_argument("--out", type=Path, help="a folder for the files (default: report-<time>)")
    rep.add_argument("--programme", action="append", help="only this programme (repeat for more)")
    rep.add_argument("--since", type=_date, help="only referrals sent on or after this date")
    rep.add_argument(
        "--threshold",
        type=_threshold,
        default=report.DEFAULT_THRESHOLD,
        help="counts below this (and above 0) are suppressed (default 5)",
    )
    exp = sub.add_parser(
        "export", help="referrals as CSV, JSON or FHIR for the case system (personal data)"
    )
    exp.add_argument("--format", choices=export.FORMATS, required=True)
    exp.add_argument("--out", type=Path, help="a new file (default: peerdoor-export-<time>.*)")
    exp.add_argument("--programme", action="append", help="only this programme (repeat for more)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "report":
        cmd_report(settings, args.out, args.programme, args.since, args.threshold)
    else:
        cmd_export(settings, args.format, args.out, args.programme)
    return 0


async def _open(settings: Settings) -> Store:
    if not settings.database.exists():
        raise SetupError(
            f"there is no database at {settings.database}: run the bot first, or set "
            "PEERDOOR_DATA_DIR to the folder that holds peerdoor.db"
        )
    ensure_data_dir(settings)
    key = await maintenance.ready_master_key(settings)
    return await maintenance.open_store(settings, KeyRing(key))


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


# --- report ----------------------------------------------------------------------------------


def cmd_report(
    settings: Settings,
    out: Path | None,
    programme_ids: list[str] | None,
    since: date | None,
    threshold: int = report.DEFAULT_THRESHOLD,
) -> None:
    config = load_config(settings.config)
    programmes = report.chosen_programmes(config, programme_ids)
    now = datetime.now(UTC)
    out = out or Path(f"report-{_stamp(now)}")
    started = time.monotonic()
    made, written = asyncio.run(_report(settings, programmes, out, since, threshold, now))
    took = time.monotonic() - started
    print(
        f"wrote the report for {', '.join(p.id for p in programmes)} to {out}/ "
        f"({len(written)} files, mode 0600) in {took:.1f}s: open {out / 'report.html'}"
    )
    print(
        f"Counts only, no personal data; counts from 1 to {threshold - 1} are shown as "
        f"'<{threshold}'. Referrals in it: {made.referrals}."
    )


async def _report(
    settings: Settings,
    programmes: list[Programme],
    out: Path,
    since: date | None,
    threshold: int,
    now: datetime,
) -> tuple[report.Report, list[Path]]:
    return await make_report(
        await _open(settings), programmes, out, since=since, threshold=threshold, now=now
    )


async def make_report(
    store: Store,
    programmes: list[Programme],
    out: Path,
    *,
    since: date | None = None,
    until: date | None = None,
    threshold: int = report.DEFAULT_THRESHOLD,
    now: datetime | None = None,
    close: bool = True,
) -> tuple[report.Report, list[Path]]:
    """Gather, draw, write, then audit ("report", counts only). Closes the store if ``close``."""
    now = now or datetime.now(UTC)
    try:
        refuse_existing(*report_html.paths(out, [p.id for p in programmes]))  # fail early
        made = await report.gather(
            store,
            programmes,
            since=since,
            until=until or now.astimezone(UTC).date(),
            threshold=threshold,
            now=now,
        )
        written = await asyncio.to_thread(report_html.write, made, out)
        try:
            async with store.unit() as uow:
                detail = f"programmes={len(programmes)} referrals={made.referrals}"
                await uow.audit.record(None, "report", now, detail=detail)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
    finally:
        if close:
            await store.close()
    log.info("report.written programmes=%d", len(programmes))
    return made, written


# --- export ----------------------------------------------------------------------------------

_SUFFIX = {"csv": "csv", "json": "json", "fhir": "fhir.json"}


def cmd_export(
    settings: Settings, fmt: str, out: Path | None, programme_ids: list[str] | None
) -> None:
    config = load_config(settings.config)
    programmes = report.chosen_programmes(config, programme_ids)
    now = datetime.now(UTC)
    out = out or Path(f"peerdoor-export-{_stamp(now)}.{_SUFFIX[fmt]}")
    started = time.monotonic()
    count = asyncio.run(_export(settings, programmes, fmt, out, now))
    took = time.monotonic() - started
    print(f"exported {count} referrals ({fmt}) to {out} (mode 0600) in {took:.1f}s")
    print(
        "This file contains personal health data: the answers people gave, in plain text. "
        "Import it into your case system, then delete it (and empty the bin). Never email it "
        "or put it in a shared folder; move it only over an encrypted connection or on an "
        "encrypted disk. The export is recorded in the audit trail."
    )


async def _export(
    settings: Settings, programmes: list[Programme], fmt: str, out: Path, now: datetime
) -> int:
    _check_export(fmt, out)  # before the database is opened
    return await make_export(await _open(settings), programmes, fmt, out, now=now)


def _check_export(fmt: str, out: Path) -> None:
    if fmt not in export.FORMATS:
        raise SetupError(f"unknown export format {fmt!r}: use one of {', '.join(export.FORMATS)}")
    refuse_existing(out)
    if fmt == "fhir":
        fhir.validate({"resourceType": "Bundle", "type": "collection"})  # is it installed?


async def make_export(
    store: Store,
    programmes: list[Programme],
    fmt: str,
    out: Path,
    *,
    now: datetime | None = None,
    close: bool = True,
) -> int:
    """Read, build (and for FHIR validate), write ``out`` (0600, never overwritten), audit.

    The audit entry
    (``export:<format>``, the count only) is written after the file; if it cannot be, the file
    is removed again, so there is never an export without its audit entry.
    """
    now = now or datetime.now(UTC)
    try:
        _check_export(fmt, out)
        items = await export.collect(store, programmes)
        if fmt == "csv":
            data = export.to_csv(items, programmes)
        elif fmt == "json":
            data = export.to_json(items)
        else:
            bundle = fhir.bundle(programmes, items, now)
            await asyncio.to_thread(fhir.validate, bundle)
            data = export.json_bytes(bundle)
        write_private(out, data)
        try:
            async with store.unit() as uow:
                await uow.audit.record(
                    None, f"export:{fmt}", now, detail=f"referrals={len(items)}"
                )
        except BaseException:
            out.unlink(missing_ok=True)  # noqa: ASYNC240 - one small unlink
            raise
    finally:
        if close:
            await store.close()
    log.info("export.written format=%s referrals=%d", fmt, len(items))
    return len(items)
