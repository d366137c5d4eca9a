"""Benchmark: the bot's memory with 10,000 forms in progress; baselines in the same run.

    python -m benchmarks.memory [--drafts N] [--answering M] [--json PATH]

N people who agreed and stopped part way through the HIV form are written into a fresh database
through the storage API (`benchmarks.seeding`). `peerdoor run` starts as its own process; M of
those people come back at once: each sends /start, gets their question again and answers it.
The bot's peak resident set (VmHWM) must stay under 150 MiB: a draft lives on disk, not in
memory. Baselines, each its own process on the same emulator: the same bot with an empty
database (M new people send /start hiv and agree), and the bare echo bot (M people send two
texts). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.config_file import load_config
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import EXAMPLE_CONFIG, BotFiles, asked

from . import echo_bot, report
from .intake import Script, _finite, run_phase
from .people import Action, Driver, answer_screen
from .process import BotUnderTest, read_status
from .seeding import seed_drafts
from .watch import install

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "memory.json"
TARGET_MIB = 150.0
DRAFT_IDS = 4_000_000  # the seeded people: Telegram ids DRAFT_IDS .. DRAFT_IDS + N - 1
NEW_IDS = 4_500_000  # people new to the empty bot
ECHO_IDS = 4_600_000


class Measured(BotUnderTest):
    """A bot under test that also notes its resident set once ready, before any traffic."""

    idle_rss_kib = 0

    async def start(self) -> None:
        await super().start()
        self.idle_rss_kib = read_status(self.pid).get("VmRSS", 0)


def summary(result: report.PhaseResult, bot: Measured) -> dict[str, object]:
    return {
        "peak_rss_mib": round(result.peak_rss_mib, 1),
        "peak_rss_sampled_mib": round(result.peak_rss_sampled_mib, 1),
        "idle_rss_mib": round(bot.idle_rss_kib / 1024, 1),
        "people": result.people,
        "completed": result.completed,
        "updates": result.updates,
        "latency_first_p50_ms": round(result.latency_first_p50_ms, 1),
        "latency_first_p99_ms": round(result.latency_first_p99_ms, 1),
        "bot_cpu_seconds": round(result.bot_cpu_seconds, 1),
        "wall_seconds": round(result.wall_seconds, 1),
        "errors": result.errors,
    }


async def benchmark(args: argparse.Namespace) -> dict[str, object]:
    config = load_config(EXAMPLE_CONFIG)
    programme = config.programme("hiv")
    assert programme is not None and config.programmes[0] is programme
    phases: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="peerdoor-memory-") as tmp:
        async with BotApiEmulator(token=args.token, rate_limits=False) as emulator:
            requests = install(emulator)

            def bot(name: str, files: BotFiles) -> Measured:
                env = {**files.env(emulator), "PEERDOOR_RATE_LIMIT": "false"}
                cmd = [sys.executable, "-m", "bot.ops.cli", "run"]
                return Measured(name, cmd, env, files.root, "bot.started")

            # 1. N drafts in progress; M of those people come back and answer one question.
            seeded = BotFiles(Path(tmp) / "seeded")
            seeded.data_dir.mkdir(parents=True)
            store = await seeded.open_store()
            started = time.monotonic()
            try:
                waiting = await seed_drafts(store, config, DRAFT_IDS, args.drafts)
            finally:
                await store.close()
            seed_seconds = time.monotonic() - started
            size_mib = seeded.database.stat().st_size / 2**20
            print(
                f"seeded {args.drafts} drafts in {seed_seconds:.1f}s ({size_mib:.0f} MiB)",
                file=sys.stderr,
            )

            async def come_back(driver: Driver) -> None:
                expected = waiting[driver.person.id - DRAFT_IDS]
                screen = await driver.act(Action("text", "/start"), driver.new_with_buttons)
                question = asked(programme, screen, "en")
                if question is None or question.id != expected:
                    found = question.id if question else (screen.text or "")[:60]
                    raise AssertionError(f"resumed at {found!r}, not at {expected!r}")
                await answer_screen(driver, programme, screen)

            with_drafts = bot("peerdoor-drafts", seeded)
            result = await run_phase(
                "peerdoor-drafts", emulator, requests, with_drafts, DRAFT_IDS,
                args.answering, come_back, args,
            )  # fmt: skip
            phases["peerdoor_with_drafts"] = summary(result, with_drafts)

            # 2. The same bot, an empty database: M new people start and agree.
            empty = BotFiles(Path(tmp) / "empty")
            empty.data_dir.mkdir(parents=True)

            async def agree(driver: Driver) -> None:
                await driver.act(Action("text", "/start hiv"), driver.new_with_buttons)
                await driver.act(Action("press", "Yes, I agree"), driver.new_with_buttons)

            empty_bot = bot("peerdoor-empty", empty)
            result = await run_phase(
                "peerdoor-empty", emulator, requests, empty_bot, NEW_IDS, args.answering,
                agree, args,
            )  # fmt: skip
            phases["peerdoor_empty"] = summary(result, empty_bot)

            # 3. The bare echo bot: M people send two texts.
            echo = Measured(
                "echo",
                [sys.executable, "-m", "benchmarks.echo_bot"],
                {**empty.env(emulator), "PYTHONPATH": str(ROOT)},
                empty.root,
                echo_bot.READY,
            )

            async def two_texts(driver: Driver) -> None:
                for text in ("/start hiv", "Hello"):
                    await driver.act(Action("text", text), driver.new_message)

            script: Script = two_texts
            result = await run_phase(
                "echo", emulator, requests, echo, ECHO_IDS, args.answering, script, args
            )
            phases["echo"] = summary(result, echo)
    peak = phases["peerdoor_with_drafts"]["peak_rss_mib"]
    assert isinstance(peak, float)
    return {
        "benchmark": "memory",
        "drafts": args.drafts,
        "answering": args.answering,
        "seed_seconds": round(seed_seconds, 1),
        "database_mib": round(size_mib, 1),
        "machine": report.machine(),
        "target_peak_rss_mib": TARGET_MIB,
        "target_met": peak < TARGET_MIB,
        **phases,
    }


def table(result: dict[str, object]) -> str:
    names = ("peerdoor_with_drafts", "peerdoor_empty", "echo")
    rows = [
        ("peak RSS, VmHWM (MiB)", "peak_rss_mib"),
        ("RSS when ready (MiB)", "idle_rss_mib"),
        ("people who got their answer", "completed"),
        ("updates answered", "updates"),
        ("first reply p50 (ms)", "latency_first_p50_ms"),
        ("first reply p99 (ms)", "latency_first_p99_ms"),
        ("bot CPU (s)", "bot_cpu_seconds"),
    ]
    lines = [f"{'':32}" + "".join(f"{n:>22}" for n in names)]
    for label, key in rows:
        cells = []
        for name in names:
            phase = result[name]
            assert isinstance(phase, dict)
            cells.append(str(phase[key]))
        lines.append(f"{label:32}" + "".join(f"{c:>22}" for c in cells))
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    p.add_argument("--drafts", type=int, default=10_000, help="forms in progress (10,000)")
    p.add_argument(
        "--answering", type=int, default=500, help="people who come back and answer (500)"
    )
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    args = p.parse_args(argv)
    if args.answering > args.drafts:
        p.error("--answering cannot be more than --drafts")
    args.token = "123456:BENCH-token"
    args.step_timeout = 60.0 + 0.1 * args.answering
    args.person_timeout = 120.0 + 0.5 * args.answering
    args.py_spy = None
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(benchmark(args))
    print(
        f"\npeerdoor memory benchmark: {args.drafts} drafts in progress, "
        f"{args.answering} people answer at once"
    )
    print(table(result))
    peak = result["peerdoor_with_drafts"]
    assert isinstance(peak, dict)
    verdict = "met" if result["target_met"] else "NOT MET"
    print(f"\ntarget: peak RSS under {TARGET_MIB:.0f} MiB: {verdict} ({peak['peak_rss_mib']} MiB)")
    finite = _finite(result)
    assert isinstance(finite, dict)
    report.write_json(args.json, finite)
    print(f"wrote {args.json}")
    failed = [
        name
        for name in ("peerdoor_with_drafts", "peerdoor_empty", "echo")
        if isinstance(p := result[name], dict) and p["completed"] != p["people"]
    ]
    if failed:
        print(f"FAILED: not every person got an answer in {failed}", file=sys.stderr)
        for name in failed:
            phase = result[name]
            assert isinstance(phase, dict)
            for error in list(phase["errors"])[:3]:
                print(f"  {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
