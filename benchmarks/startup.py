"""Benchmark: from process start to the first answered update; the bare echo bot as baseline.

    python -m benchmarks.startup [--referrals N] [--runs R] [--json PATH]

A new person's /start waits in the emulator; then the bot process is started, and the clock
runs until the bot's first reply to that person reaches the emulator. Three bots, each started
R times, one after the other, on the same emulator: the bare echo bot (benchmarks/echo_bot.py),
`peerdoor run` with an empty database, and `peerdoor run` with N stored referrals (seeded as
in benchmarks.queue). Also noted, from the emulator's request log: the bot's first request
(getMe: Python started, everything imported) and its first getUpdates (polling: ready).
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import BotFiles

from . import echo_bot, report
from .intake import _finite
from .process import BotUnderTest
from .queue import coordination_config, seeded_queue
from .watch import RequestLog, install, is_visible

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "startup.json"
TOKEN = "123456:BENCH-token"
SEEDED_IDS = 6_000_000
PERSON_IDS = 6_900_000  # a new person for every start
BOTS = ("echo", "peerdoor_empty", "peerdoor_referrals")


async def first_answer(
    emulator: BotApiEmulator, requests: RequestLog, bot: BotUnderTest, person_id: int
) -> dict[str, float]:
    """Queue /start from a new person, start `bot`, and time its first reply; then stop it."""
    person = emulator.user(person_id, "Newcomer")
    chat = requests.chat(person_id)
    await person.send("/start")
    seen = len(requests)
    t0 = emulator.clock.now()
    starting = asyncio.create_task(bot.start())
    try:
        reply = await chat.wait(lambda: chat.first_visible_since(t0), timeout=60)
        await starting  # the ready marker in its log, for a clean stop
    finally:
        if not starting.done():
            starting.cancel()
        await bot.stop()
    later = requests[seen:]
    first = next(r.at for r in later if r.at >= t0)
    polling = next(r.at for r in later if r.method.lower() == "getupdates" and r.at >= t0)
    assert is_visible(reply.method)
    return {
        "first_request_s": round(first - t0, 3),
        "polling_s": round(polling - t0, 3),
        "first_answer_s": round(reply.at - t0, 3),
    }


def summarise(runs: list[dict[str, float]]) -> dict[str, object]:
    answers = [r["first_answer_s"] for r in runs]
    return {
        "runs": runs,
        "first_answer_median_s": round(statistics.median(answers), 3),
        "first_answer_min_s": min(answers),
        "first_answer_max_s": max(answers),
        "polling_median_s": round(statistics.median(r["polling_s"] for r in runs), 3),
        "first_request_median_s": round(statistics.median(r["first_request_s"] for r in runs), 3),
    }


async def benchmark(args: argparse.Namespace) -> dict[str, object]:
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="peerdoor-startup-") as tmp:
        root = Path(tmp)
        empty = BotFiles(root / "empty")
        empty.data_dir.mkdir(parents=True)
        seeded = BotFiles(root / "seeded", config_path=coordination_config(root))
        done = await seeded_queue(seeded, SEEDED_IDS, args.referrals)
        size_mib = seeded.database.stat().st_size / 2**20
        async with BotApiEmulator(token=TOKEN, rate_limits=False) as emulator:
            requests = install(emulator)

            def peerdoor(name: str, files: BotFiles) -> BotUnderTest:
                env = {**files.env(emulator), "PEERDOOR_RATE_LIMIT": "true"}  # as shipped
                cmd = [sys.executable, "-m", "bot.ops.cli", "run"]
                return BotUnderTest(name, cmd, env, files.root, "bot.started")

            def echo(name: str) -> BotUnderTest:
                cmd = [sys.executable, "-m", "benchmarks.echo_bot"]
                env = {**empty.env(emulator), "PYTHONPATH": str(ROOT)}
                return BotUnderTest(name, cmd, env, empty.root, echo_bot.READY)

            def fresh(name: str, n: int) -> BotUnderTest:
                """A new process each time, with its own log (the ready marker is per log)."""
                if name == "echo":
                    return echo(f"echo-{n}")
                files = empty if name == "peerdoor_empty" else seeded
                return peerdoor(f"{name}-{n}", files)

            runs: dict[str, list[dict[str, float]]] = {name: [] for name in BOTS}
            person = PERSON_IDS
            for n in range(args.runs):  # interleaved, so that drift hits all three alike
                for name in BOTS:
                    person += 1
                    timing = await first_answer(emulator, requests, fresh(name, n), person)
                    runs[name].append(timing)
                    print(f"run {n + 1} {name}: {timing}", file=sys.stderr, flush=True)
            for name in BOTS:
                results[name] = summarise(runs[name])
    base = results["echo"]["first_answer_median_s"]
    assert isinstance(base, float)
    over = {}
    for name in BOTS[1:]:
        median = results[name]["first_answer_median_s"]
        assert isinstance(median, float)
        over[name] = {"minus_echo_s": round(median - base, 3), "ratio": round(median / base, 2)}
    return {
        "benchmark": "startup",
        "referrals": args.referrals,
        "runs": args.runs,
        "seed_seconds": round(done.seconds, 1),
        "database_mib": round(size_mib, 1),
        "machine": report.machine(),
        **results,
        "versus_echo": over,
    }


def table(result: dict[str, object]) -> str:
    lines = [
        f"{'seconds from process start':30}{'first request':>15}{'polling':>10}"
        f"{'first answer':>14}{'min':>8}{'max':>8}"
    ]
    for name in BOTS:
        row = result[name]
        assert isinstance(row, dict)
        lines.append(
            f"{name:30}{row['first_request_median_s']:>15}{row['polling_median_s']:>10}"
            f"{row['first_answer_median_s']:>14}{row['first_answer_min_s']:>8}"
            f"{row['first_answer_max_s']:>8}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    p.add_argument("--referrals", type=int, default=100_000, help="stored referrals (100,000)")
    p.add_argument("--runs", type=int, default=5, help="starts of each bot (5)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(benchmark(args))
    print(
        f"\npeerdoor start-up benchmark: medians of {args.runs} starts; "
        f"peerdoor_referrals has {args.referrals} referrals"
    )
    print(table(result))
    over = result["versus_echo"]
    assert isinstance(over, dict)
    for name, diff in over.items():
        print(f"  {name}: {diff['minus_echo_s']} s more than echo ({diff['ratio']}x)")
    finite = _finite(result)
    assert isinstance(finite, dict)
    report.write_json(args.json, finite)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
