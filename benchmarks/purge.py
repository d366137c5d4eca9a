"""Benchmark: the daily retention purge over 100,000 referrals, as the people writing meanwhile
see it.

    python -m benchmarks.purge [--referrals N] [--expired SHARE] [--batches B,...] [--json PATH]

N referrals (real encrypted rows, `benchmarks.seeding`; the closed ones closed "now") are
written into a fresh database, and the store is opened in this process, on uvloop, as
`peerdoor run` opens it. While each phase runs, a **probe** does what every update does first,
every 5 ms: one unit of work that claims an update id (`UpdateLog.claim`, the router's first
statement), committed; and a **ticker** wakes every millisecond to see how long the event loop
was kept from it. Phases, in this order, on the same store:

1. `idle`: the probe and the ticker alone for 2 s: the baseline;
2. `daily`: `maintenance.purge` when nothing has expired (most days);
3. `backlog`: the same after SHARE of the closed referrals were moved ten years back (the first
   purge after a shorter retention period, or after the bot was off for a long time); with
   several batch sizes (`--batches`, rows per query and transaction), one backlog phase each,
   on its own equal slice of the closed referrals, so they compare in the same run.

Per phase: the purge's wall time and counts, the probe's time from asking for a unit to its
commit (p50 / p99 / max: how long a person's update waited for the purge), and the loop's
stalls (max, p99, how many over 50 ms). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvloop

from bot.ops import maintenance
from storage import Purged, Store

from . import report
from .queue import coordination_store

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "purge.json"
PROBE_EVERY = 0.005
TICK = 0.001


class Watch:
    """The probe and the ticker, running beside whatever the phase does."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.waits: list[float] = []  # the probe: asking for a unit .. its commit
        self.stalls: list[float] = []  # the ticker: how late each 1 ms wake-up came
        self._stop = asyncio.Event()
        self._update_id = 0

    async def probe(self) -> None:
        while not self._stop.is_set():
            self._update_id += 1
            asked = time.perf_counter()
            async with self.store.unit() as uow:
                await uow.updates.claim(self._update_id, datetime.now(UTC))
            self.waits.append(time.perf_counter() - asked)
            await asyncio.sleep(PROBE_EVERY)

    async def tick(self) -> None:
        last = time.perf_counter()
        while not self._stop.is_set():
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            self.stalls.append(now - last - TICK)
            last = now

    async def during(self, work: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
        tasks = [asyncio.create_task(self.probe()), asyncio.create_task(self.tick())]
        await asyncio.sleep(0.05)  # both running
        self.waits.clear()
        self.stalls.clear()
        started = time.perf_counter()
        try:
            result = await work()
        finally:
            wall = time.perf_counter() - started
            self._stop.set()
            await asyncio.gather(*tasks)
        return result, wall

    def figures(self) -> dict[str, Any]:
        def ms(values: Sequence[float], pct: float) -> float:
            return round(1000 * report.percentile(values, pct), 1)

        return {
            "probe_units": len(self.waits),
            "probe_p50_ms": ms(self.waits, 50),
            "probe_p99_ms": ms(self.waits, 99),
            "probe_max_ms": round(1000 * max(self.waits, default=0.0), 1),
            "loop_stall_p99_ms": ms(self.stalls, 99),
            "loop_stall_max_ms": round(1000 * max(self.stalls, default=0.0), 1),
            "loop_stalls_over_50ms": sum(1 for s in self.stalls if s > 0.05),
        }


def age_closed(database: Path, part: slice, now: datetime) -> tuple[int, int]:
    """Move this slice of the closed referrals' closing ten years back; (closed, moved)."""
    long_ago = (now - timedelta(days=3650)).isoformat()
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db, db:
        closed = [
            r[0]
            for r in db.execute("SELECT id FROM referrals WHERE status = 'closed' ORDER BY id")
        ]
        moved = closed[part]
        db.executemany(
            "UPDATE referrals SET closed_at = ? WHERE id = ?", [(long_ago, m) for m in moved]
        )
    return len(closed), len(moved)


async def phase(store: Store, name: str, work: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    watch = Watch(store)
    result, wall = await watch.during(work)
    figures: dict[str, Any] = {"phase": name, "wall_seconds": round(wall, 2), **watch.figures()}
    if isinstance(result, Purged):
        figures["purged"] = {
            "drafts": result.drafts,
            "referrals": result.referrals,
            "people": result.people,
        }
    print(
        f"  {name:>8}: {wall:6.2f} s  probe p50 {figures['probe_p50_ms']:6.1f} / p99 "
        f"{figures['probe_p99_ms']:6.1f} / max {figures['probe_max_ms']:6.1f} ms  loop stalls "
        f"p99 {figures['loop_stall_p99_ms']:5.1f} / max {figures['loop_stall_max_ms']:6.1f} ms, "
        f"{figures['loop_stalls_over_50ms']} over 50 ms  {figures.get('purged', '')}",
        file=sys.stderr,
        flush=True,
    )
    return figures


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="peerdoor-purge-") as tmp:
        files, _seeded = await coordination_store(Path(tmp), args.referrals)
        config = files.config()
        now = datetime.now(UTC)
        store = await files.open_store()
        phases = []
        try:
            phases.append(await phase(store, "idle", lambda: asyncio.sleep(2.0)))
            phases.append(
                await phase(store, "daily", lambda: maintenance.purge(store, config, now))
            )
            batches = [int(b) for b in args.batches.split(",")]
            with contextlib.closing(sqlite3.connect(files.database)) as db:
                closed = next(
                    db.execute("SELECT count(*) FROM referrals WHERE status = 'closed'")
                )[0]
            each = int(closed * args.expired / len(batches))
            for batch in batches:
                # the slice ahead of what earlier phases purged (they left the rest in place)
                _, moved = age_closed(files.database, slice(0, each), now)
                print(f"  {moved} of the closed referrals moved ten years back", file=sys.stderr)
                maintenance.PURGE_BATCH = batch
                phases.append(
                    await phase(
                        store, f"backlog@{batch}", lambda: maintenance.purge(store, config, now)
                    )
                )
        finally:
            await store.close()
        return {
            "benchmark": "purge",
            "referrals": args.referrals,
            "closed": closed,
            "expired_per_backlog_phase": each,
            "machine": report.machine(),
            "phases": phases,
        }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.purge", description=__doc__)
    p.add_argument("--referrals", type=int, default=100_000, help="stored referrals (100,000)")
    p.add_argument(
        "--expired", type=float, default=0.5, help="share of the closed ones expired (0.5)"
    )
    p.add_argument(
        "--batches",
        default=str(maintenance.PURGE_BATCH),
        help=f"rows per query and transaction, one backlog phase each (default "
        f"{maintenance.PURGE_BATCH}: the shipped size), e.g. 200,50",
    )
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results = uvloop.run(benchmark(args))
    report.write_json(args.json, results)
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
