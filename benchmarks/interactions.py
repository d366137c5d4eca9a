"""Benchmark: the same walk through the example intake, peerdoor against a bare PTB echo bot.

    python -m benchmarks.interactions [--people 50] [--rounds 5] [--json PATH]

Three kinds of process: this one (starts and stops bots, keeps the figures); `crowd`, the Bot
API emulator with the simulated people in it; and each bot. A "null bot" (`null_bot`: raw
aiohttp, no framework) runs in every round beside the others: the harness sustains its rate,
so a bot measured well below it measures the bot. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from . import echo_bot, null_bot, report
from .process import BotUnderTest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "interactions.json"
TOKEN = "123456:BENCH-token"
RATE_LIMITED = ("send", "edit", "copy", "forward")  # counted by Telegram's flood limits


def rate_limited(method: str) -> bool:
    lowered = method.lower()
    return lowered.startswith(RATE_LIMITED) and lowered != "sendchataction"


class Crowd:
    """The `crowd` process: one JSON command in, one JSON answer out."""

    def __init__(self, uvloop: bool) -> None:
        self.uvloop = uvloop
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""

    async def start(self) -> None:
        argv = [sys.executable, "-m", "benchmarks.crowd", "--token", TOKEN]
        self.process = await asyncio.create_subprocess_exec(
            *argv + (["--uvloop"] if self.uvloop else []),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            limit=256 * 1024 * 1024,
        )
        self.base_url = (await self._read())["base_url"]

    async def _read(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("the crowd process ended")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    async def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()
        return await self._read()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        await self.ask_quit()

    async def ask_quit(self) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(b'{"cmd": "quit"}\n')
        await self.process.stdin.drain()
        await self.process.wait()


class Bots:
    """How to start each kind of bot against the crowd's emulator."""

    def __init__(self, root: Path, base_url: str, args: argparse.Namespace) -> None:
        self.root, self.base_url, self.args = root, base_url, args
        self.serial = 0

    def make(self, kind: str, extra: dict[str, str]) -> BotUnderTest:
        """PEERDOOR_BENCH_TREE=DIR in `extra` runs the bot from another checkout (e.g. main)."""
        from tests.e2e.harness import BotFiles

        self.serial += 1
        where = self.root / f"{kind}-{self.serial}"
        where.mkdir(parents=True)
        files = BotFiles(where)
        env = files.env(SimpleNamespace(token=TOKEN, base_url=self.base_url))  # type: ignore[arg-type]
        tree = extra.pop("PEERDOOR_BENCH_TREE", None)
        env["PYTHONPATH"] = tree or str(ROOT)
        if kind == "null":
            argv, ready = [sys.executable, "-m", "benchmarks.null_bot"], null_bot.READY
        elif kind == "echo":
            argv, ready = [sys.executable, "-m", "benchmarks.echo_bot"], echo_bot.READY
        else:
            files.data_dir.mkdir(parents=True)
            run = (
                ["benchmarks.levers"]
                if "PEERDOOR_BENCH_LEVERS" in extra
                else ["bot.ops.cli", "run"]
            )
            argv, ready = [sys.executable, "-m", *run], "bot.started"
        return BotUnderTest(kind, argv, {**env, **extra}, where, ready)


def echo_walk(walk: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same actions to an echo bot: texts as typed, presses on its one button."""
    return [
        {"kind": "text", "label": s["label"], "contains": False, "visible": 1}
        if s["kind"] == "text"
        else {"kind": "press", "label": "Echo", "contains": False, "visible": 1}
        for s in walk
    ]


def summarise(
    name: str, walk: list[dict[str, Any]], answer: dict[str, Any], bot: Any
) -> dict[str, Any]:
    outcomes = answer["outcomes"]
    first = [x * 1000 for o in outcomes for x in o["first"]]
    full = [x * 1000 for o in outcomes for x in o["full"]]
    actions = len(first)
    started = min(o["started"] for o in outcomes)
    wall = max(o["finished"] for o in outcomes) - started
    calls = answer["calls"]
    person_calls = sum(n for k, n in calls.items() if k.endswith("@person") and rate_limited(k))
    all_calls = sum(n for k, n in calls.items() if rate_limited(k.split("@")[0]))
    failed = [o["error"] for o in outcomes if o["error"]]
    return {
        "bot": name,
        "people": len(outcomes),
        "failed": len(failed),
        "errors": failed[:5],
        "actions": actions,
        "actions_per_person": len(walk),
        "wall_seconds": wall,
        "interactions_per_second": actions / wall if wall > 0 else math.nan,
        "first_p50_ms": report.percentile(first, 50),
        "first_p99_ms": report.percentile(first, 99),
        "full_p50_ms": report.percentile(full, 50),
        "full_p99_ms": report.percentile(full, 99),
        "rate_limited_calls_per_action": person_calls / actions if actions else math.nan,
        "rate_limited_calls_per_action_all_chats": all_calls / actions if actions else math.nan,
        "too_many_requests": answer["too_many_requests"],
        "too_many_in_private_chats": answer["too_many_in_private_chats"],
        "too_many_by_limit": answer["too_many_by_limit"],
        "too_many_at": answer["too_many_at"],
        "before_first_429": answer["before_first_429"],
        "calls": calls,
        "refused": answer["refused"],
        "peak_rss_mib": bot.peak_rss_kib / 1024,
        "bot_cpu_seconds": bot.cpu_seconds,
        "bot_cpu_share": bot.cpu_seconds / wall if wall > 0 else math.nan,
        "crowd_cpu_share": answer["crowd_cpu_seconds"] / answer["crowd_wall_seconds"],
        "last_text": outcomes[0]["last_text"],
    }


async def phase(
    crowd: Crowd,
    bots: Bots,
    kind: str,
    name: str,
    extra: dict[str, str],
    walk: list[dict[str, Any]],
    people: int,
    pace: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    bot = bots.make(kind, dict(extra))
    await bot.start()
    try:
        if args.py_spy is not None and (args.py_spy / f"{name}.txt").exists() is False:
            args.py_spy.mkdir(parents=True, exist_ok=True)
            await bot.profile(args.py_spy / f"{name}.txt")
        answer = await crowd.ask(
            {
                "cmd": "run",
                "walk": walk,
                "first_person": 10_000_000 + bots.serial * 10_000,
                "people": people,
                "pace": pace,
                "step_timeout": args.step_timeout,
            }
        )
        usage = bot.usage()
    finally:
        await bot.stop()
    result = summarise(name, walk, answer, usage)
    print(
        f"  {name:>24}: {result['interactions_per_second']:7.1f}/s  p50 "
        f"{result['first_p50_ms']:6.1f} ms  p99 {result['first_p99_ms']:7.1f} ms  "
        f"calls/action {result['rate_limited_calls_per_action']:.2f}  429s "
        f"{result['too_many_in_private_chats']}  RSS {result['peak_rss_mib']:.0f} MiB  "
        f"CPU bot {result['bot_cpu_share']:.2f} crowd {result['crowd_cpu_share']:.2f}  "
        f"failed {result['failed']}",
        file=sys.stderr,
        flush=True,
    )
    if result["failed"]:
        print(f"    {result['errors'][:2]}\n{bot.log_tail(1500)}", file=sys.stderr)
    return result


def medians(results: list[dict[str, Any]]) -> dict[str, Any]:
    keys = (
        "interactions_per_second",
        "first_p50_ms",
        "first_p99_ms",
        "full_p50_ms",
        "peak_rss_mib",
        "rate_limited_calls_per_action",
        "rate_limited_calls_per_action_all_chats",
        "too_many_in_private_chats",
        "bot_cpu_share",
        "crowd_cpu_share",
    )
    out: dict[str, Any] = {"rounds": len(results), "failed": sum(r["failed"] for r in results)}
    for key in keys:
        values = [r[key] for r in results if not math.isnan(r[key])]
        if values:
            out[key] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
    return out


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, assignments = text.partition(":")
    env = dict(a.split("=", 1) for a in assignments.split(",") if a)
    return name, env


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    crowd = Crowd(args.uvloop_crowd)
    await crowd.start()
    results: dict[str, Any] = {
        "benchmark": "interactions",
        "people": args.people,
        "machine": report.machine(),
        "crowd_loop": "uvloop" if args.uvloop_crowd else "asyncio",
    }
    try:
        with tempfile.TemporaryDirectory(prefix="peerdoor-interactions-") as tmp:
            bots = Bots(Path(tmp), crowd.base_url, args)
            off = {"PEERDOOR_RATE_LIMIT": "false"}
            recorder = bots.make("peerdoor", {**off, **first_tree(args)})
            await recorder.start()
            try:
                recorded = await crowd.ask({"cmd": "record", "person": 9_000_000})
            finally:
                await recorder.stop()
            walk = recorded["walk"]
            results["walk"] = walk
            print(
                f"walk: {len(walk)} actions, {sum(s['visible'] for s in walk)} visible requests, "
                f"reference {recorded['reference']}",
                file=sys.stderr,
            )
            lineup: list[tuple[str, str, dict[str, str], list[dict[str, Any]]]] = [
                ("null", "null", {}, echo_walk(walk)),
                ("echo", "echo", {}, echo_walk(walk)),
                ("peerdoor", "peerdoor", off, walk),
            ]
            if args.peerdoor_tree is not None:  # the working tree may change while this runs
                tree = str(args.peerdoor_tree.resolve())
                lineup[-1] = ("peerdoor", "peerdoor", {**off, "PEERDOOR_BENCH_TREE": tree}, walk)
            if args.main_tree is not None:
                args.variant.insert(0, f"main:PEERDOOR_BENCH_TREE={args.main_tree.resolve()}")
                args.shipped_variant.insert(
                    0, f"main:PEERDOOR_BENCH_TREE={args.main_tree.resolve()}"
                )
            for variant in args.variant:
                name, env = parse_variant(variant)
                lineup.append((name, "peerdoor", {**off, **env}, walk))
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in lineup}
            if args.rounds:
                await crowd.ask({"cmd": "limits", "telegram": False})
            for r in range(args.rounds):
                print(f"round {r + 1} (limits off)", file=sys.stderr, flush=True)
                shift = r % len(lineup)
                for name, kind, env, steps in lineup[shift:] + lineup[:shift]:
                    rounds[name].append(
                        await phase(crowd, bots, kind, name, env, steps, args.people, 0.0, args)
                    )
            results["limits_off"] = {
                "rounds": rounds,
                "medians": {name: medians(rs) for name, rs in rounds.items() if rs},
                "ratio_to_echo": ratios(rounds, "echo") if args.rounds else {},
                "null_over_fastest_bot": headroom(rounds) if args.rounds else {},
            }
            shipped: dict[str, list[dict[str, Any]]] = {}
            if args.shipped_rounds or args.paced_people:
                await crowd.ask({"cmd": "limits", "telegram": True})
            first: dict[str, str] = {}
            if args.peerdoor_tree is not None:
                first = {"PEERDOOR_BENCH_TREE": str(args.peerdoor_tree.resolve())}
            shipped_lineup = [("peerdoor", first)] + [
                parse_variant(v) for v in args.shipped_variant
            ]
            for r in range(args.shipped_rounds):
                print(f"round {r + 1} (Telegram's limits, limiter on)", file=sys.stderr)
                for name, env in shipped_lineup:
                    shipped.setdefault(name, []).append(
                        await phase(
                            crowd, bots, "peerdoor", name, env, walk, args.people, 0.0, args
                        )
                    )
            paced: dict[str, list[dict[str, Any]]] = {}
            if args.paced_people:
                print("paced: one action a second per person", file=sys.stderr)
                for name, env in shipped_lineup:
                    paced[name] = [
                        await phase(
                            crowd,
                            bots,
                            "peerdoor",
                            name,
                            env,
                            walk,
                            args.paced_people,
                            1.0,
                            args,
                        )
                    ]
            results["telegram_limits"] = {
                "limits": "30/s overall and 20/min per group counting edits; per private chat "
                "a bucket of 3, refilled 1/s",
                "limiter_on_50_people": {n: medians(rs) for n, rs in shipped.items()},
                "paced_one_per_second": {n: medians(rs) for n, rs in paced.items()},
                "rounds": {"shipped": shipped, "paced": paced},
            }
    finally:
        await crowd.stop()
    return results


def first_tree(args: argparse.Namespace) -> dict[str, str]:
    if args.peerdoor_tree is None:
        return {}
    return {"PEERDOOR_BENCH_TREE": str(args.peerdoor_tree.resolve())}


def ratios(rounds: dict[str, list[dict[str, Any]]], base: str) -> dict[str, Any]:
    """Per round, each bot's interactions/s over the base bot's in the same round."""
    out: dict[str, Any] = {}
    for name, results in rounds.items():
        if name == base:
            continue
        values = [
            r["interactions_per_second"] / b["interactions_per_second"]
            for r, b in zip(results, rounds[base], strict=True)
        ]
        out[name] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


def headroom(rounds: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    """Per round, the null bot's rate over the fastest other bot's rate (median, min, max);
    and `of_medians`: the null bot's median rate over the highest median rate of another bot."""
    values = []
    for i, null in enumerate(rounds["null"]):
        fastest = max(
            rs[i]["interactions_per_second"] for name, rs in rounds.items() if name != "null"
        )
        values.append(null["interactions_per_second"] / fastest)

    def median_rate(name: str) -> float:
        return statistics.median(r["interactions_per_second"] for r in rounds[name])

    fastest_median = max(median_rate(name) for name in rounds if name != "null")
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "of_medians": median_rate("null") / fastest_median,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.interactions", description=__doc__)
    p.add_argument("--people", type=int, default=50)
    p.add_argument("--rounds", type=int, default=5, help="rounds with limits off (default 5)")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="also run peerdoor with these environment variables (limits off), in every round",
    )
    p.add_argument(
        "--shipped-rounds",
        type=int,
        default=1,
        help="rounds of peerdoor as shipped (limiter on) against Telegram's limits (default 1)",
    )
    p.add_argument(
        "--shipped-variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="also run this peerdoor variant in the rounds with Telegram's limits",
    )
    p.add_argument(
        "--paced-people",
        type=int,
        default=10,
        help="people acting once a second against Telegram's limits (0: skip; default 10)",
    )
    p.add_argument(
        "--main-tree",
        type=Path,
        default=None,
        help="also run peerdoor from this checkout as 'main' (e.g. `git archive main`), with "
        "limits off and with Telegram's limits: the before figures in the same run",
    )
    p.add_argument(
        "--peerdoor-tree",
        type=Path,
        default=None,
        help="run 'peerdoor' from this checkout rather than this one (e.g. `git archive HEAD`)",
    )
    p.add_argument("--step-timeout", type=float, default=120.0)
    p.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="profile each bot's first phase with py-spy (on PATH) into DIR/<name>.txt",
    )
    p.add_argument(
        "--asyncio-crowd",
        dest="uvloop_crowd",
        action="store_false",
        help="the crowd process on asyncio's own loop (default: uvloop, 10-15%% more headroom)",
    )
    p.add_argument("--json", type=Path, default=DEFAULT_JSON)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(benchmark(args))
    report.write_json(args.json, finite(results))
    print(json.dumps(finite(summary(results)), indent=1))
    print(f"wrote {args.json}", file=sys.stderr)
    every = [
        *results["limits_off"]["rounds"].values(),
        *results["telegram_limits"]["rounds"]["shipped"].values(),
        *results["telegram_limits"]["rounds"]["paced"].values(),
    ]
    failed = sum(r["failed"] for rs in every for r in rs)
    return 1 if failed else 0


def summary(results: dict[str, Any]) -> dict[str, Any]:
    off = results["limits_off"]
    return {
        "limits_off": {
            "medians": off["medians"],
            "ratio_to_echo": off["ratio_to_echo"],
            "null_over_fastest_bot": off["null_over_fastest_bot"],
        },
        "telegram_limits": {k: v for k, v in results["telegram_limits"].items() if k != "rounds"},
    }


def finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
