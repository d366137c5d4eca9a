"""Benchmark: N people refer themselves through the real bot; a bare PTB echo bot as baseline.

    python -m benchmarks.intake [--people N] [--json PATH]

One emulator (rate limits off) runs in this process with the simulated people. Each bot runs
as its own process (`python -m bot.ops.cli run`, then `python -m benchmarks.echo_bot`), one after
the other, so their memory and CPU are their own. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from bot.config_file import load_config
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import EXAMPLE_CONFIG, BotFiles

from . import echo_bot, report
from .people import Action, Driver, Outcome, StepTimeout, fill_in_hiv_form, talk_to_echo
from .process import BotUnderTest
from .watch import RequestLog, install, is_visible

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "intake.json"
TOKEN = "123456:BENCH-token"
INTAKE_IDS = 1_000_000
ECHO_IDS = 2_000_000

Script = Callable[[Driver], Awaitable[None]]


def driver_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_person(driver: Driver, script: Script, person_timeout: float) -> Outcome:
    outcome = driver.outcome
    try:
        async with asyncio.timeout(person_timeout):
            await script(driver)
    except StepTimeout as exc:
        outcome.error = str(exc)
    except TimeoutError:
        outcome.error = (
            f"not done within the person timeout of {person_timeout:.0f}s after "
            f"{len(outcome.samples)} answered updates"
        )
    except AssertionError as exc:
        outcome.error = f"unexpected screen: {exc}"
    except Exception as exc:  # one person's bad luck must not end everyone's run
        outcome.error = f"{type(exc).__name__}: {exc}"
    return outcome


async def run_phase(
    name: str,
    emulator: BotApiEmulator,
    requests: RequestLog,
    bot: BotUnderTest,
    first_id: int,
    people: int,
    script: Script,
    args: argparse.Namespace,
) -> report.PhaseResult:
    await bot.start()
    try:
        if args.py_spy is not None:
            args.py_spy.mkdir(parents=True, exist_ok=True)
            await bot.profile(args.py_spy / f"{name}-{people}.txt")
        drivers = [
            Driver(emulator, requests, emulator.user(first_id + i, f"P{i}"), args.step_timeout)
            for i in range(people)
        ]
        methods_before = dict(requests.total_by_method)
        cpu_before = driver_cpu()
        print(f"{name}: {people} people started", file=sys.stderr, flush=True)
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(run_person(d, script, args.person_timeout) for d in drivers)
        )
        print(f"{name}: done in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
        cpu = driver_cpu() - cpu_before
        usage = bot.usage()
    finally:
        await bot.stop()
    methods = {
        m: n - methods_before.get(m, 0)
        for m, n in requests.total_by_method.items()
        if n - methods_before.get(m, 0) and m.lower() != "getupdates"
    }
    visible = sum(n for m, n in methods.items() if is_visible(m))
    return report.summarise(name, outcomes, usage, bot.peak_sampled_kib, cpu, methods, visible)


def intake_actions(result_outcomes: Sequence[Outcome]) -> list[Action]:
    done = next(o for o in result_outcomes if o.ok)
    return [s.action for s in done.samples]


async def benchmark(args: argparse.Namespace) -> dict[str, object]:
    programme = load_config(EXAMPLE_CONFIG).programme("hiv")
    assert programme is not None, "the shipped example config has no 'hiv' programme"
    with tempfile.TemporaryDirectory(prefix="peerdoor-bench-") as tmp:
        root = Path(tmp)
        async with BotApiEmulator(token=TOKEN, rate_limits=False) as emulator:
            requests = install(emulator)
            files = BotFiles(root)
            files.data_dir.mkdir(parents=True)
            env = files.env(emulator)
            peerdoor = BotUnderTest(
                "peerdoor",
                [sys.executable, "-m", "bot.ops.cli", "run"],
                {**env, "PEERDOOR_RATE_LIMIT": "true" if args.rate_limit == "on" else "false"},
                root,
                "bot.started",
            )
            outcomes: list[Outcome] = []

            async def intake(driver: Driver) -> None:
                outcomes.append(driver.outcome)
                await fill_in_hiv_form(driver, programme)

            bot_result = await run_phase(
                "peerdoor", emulator, requests, peerdoor, INTAKE_IDS, args.people, intake, args
            )
            if bot_result.failed:
                print(f"peerdoor's log ends:\n{peerdoor.log_tail(1500)}", file=sys.stderr)
            base_result = None
            if bot_result.completed:
                actions = intake_actions(outcomes)
                echo = BotUnderTest(
                    "echo",
                    [sys.executable, "-m", "benchmarks.echo_bot"],
                    {**env, "PYTHONPATH": str(ROOT)},
                    root,
                    echo_bot.READY,
                )

                async def echo_script(driver: Driver) -> None:
                    await talk_to_echo(driver, actions)

                base_result = await run_phase(
                    "echo", emulator, requests, echo, ECHO_IDS, args.people, echo_script, args
                )
    return {
        "benchmark": "intake",
        "people": args.people,
        "machine": report.machine(),
        "emulator_rate_limits": False,
        "peerdoor_rate_limit": args.rate_limit,
        "peerdoor": bot_result,
        "echo": base_result,
        "ratios": report.ratios(bot_result, base_result) if base_result else None,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.intake", description=__doc__)
    p.add_argument("--people", type=int, default=200, help="simulated people (default 200)")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    p.add_argument(
        "--step-timeout",
        type=float,
        default=None,
        help="seconds the bot may take to answer one update (default: 60, plus 0.1 s per "
        "person, since each update queues behind everyone else's)",
    )
    p.add_argument(
        "--person-timeout",
        type=float,
        default=None,
        help="seconds one whole intake may take (default: 120, plus 1 s per person, since "
        "everyone starts at once and an intake lasts about as long as the whole run)",
    )
    p.add_argument(
        "--rate-limit",
        choices=("off", "on"),
        default="off",
        help="peerdoor's own flood limiter (PEERDOOR_RATE_LIMIT): off (default) measures the "
        "bot's code; on measures the limiter, one request per 1/30 s (about 0.65 intakes/s)",
    )
    p.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="profile each bot process with py-spy (pip install py-spy) into DIR/<bot>-<N>.txt",
    )
    args = p.parse_args(argv)
    if args.step_timeout is None:
        args.step_timeout = 60.0 + 0.1 * args.people
    if args.person_timeout is None:
        args.person_timeout = 120.0 + 1.0 * args.people
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(benchmark(args))
    bot, base = result["peerdoor"], result["echo"]
    assert isinstance(bot, report.PhaseResult)
    assert base is None or isinstance(base, report.PhaseResult)
    print(
        f"\npeerdoor intake benchmark, {args.people} people, emulator rate limits off, "
        f"peerdoor's own rate limiter {args.rate_limit}"
    )
    print(report.table(bot, base))
    finite = _finite(result)
    assert isinstance(finite, dict)
    report.write_json(args.json, finite)
    print(f"\nwrote {args.json}")
    failed = bot.failed + (base.failed if base else args.people)
    if failed:
        print(
            f"\nFAILED: {bot.failed} intakes and "
            f"{base.failed if base else 'all'} echo conversations did not complete",
            file=sys.stderr,
        )
        for error in (bot.errors + (base.errors if base else []))[:5]:
            print(f"  {error}", file=sys.stderr)
        return 1
    return 0


def _finite(value: object) -> object:
    """NaN/inf become null so the JSON stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return _finite(asdict(value))  # type: ignore[call-overload]
    return value


if __name__ == "__main__":
    sys.exit(main())
