"""Benchmark: N check-ins due at the same minute, sent by the real bot within Telegram's limits.

    python -m benchmarks.fanout [--people N] [--json PATH]

N consenting people, each with a waiting referral and a check-in due at the same instant (the
next whole minute after seeding, at least 20 s ahead, so the bot's armed timer is what wakes
it), are written straight into a fresh database through the storage API. Then `peerdoor run`
starts as its own process with the rate limiter on (as shipped), against the emulator with its
flood limits on (30 messages per second overall, as Telegram). We measure how fast the
check-ins go out, as a fraction of 30/s, how many 429s the emulator answered (target 0), and
count what each chat received: none lost, none twice. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram.constants import FloodLimit

from bot.delivery import kinds
from bot.services import preferences
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import BotFiles

from .process import BotUnderTest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "fanout.json"
TOKEN = "123456:BENCH-token"
FIRST_ID = 3_000_000
TEXT = "Hello, just checking in."
LIMIT = FloodLimit.MESSAGES_PER_SECOND  # 30


def due_minute(now: datetime, lead: float = 20.0) -> datetime:
    """The next whole minute at least `lead` seconds away."""
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return minute if (minute - now).total_seconds() >= lead else minute + timedelta(minutes=1)


async def seed(files: BotFiles, people: int, due: datetime) -> float:
    """Write N consenting people, their referrals and one check-in each; returns seconds."""
    started = time.monotonic()
    store = await files.open_store()
    now = datetime.now(UTC)
    try:
        for batch in range(0, people, 500):
            async with store.unit() as uow:
                for i in range(batch, min(batch + 500, people)):
                    person = await uow.people.create(FIRST_ID + i, now)
                    referral = await uow.referrals.create(
                        person, "hiv", b"{}", urgent=False, now=now - timedelta(days=8)
                    )
                    prefs = await preferences.load(uow, person)
                    prefs.language = "en"
                    prefs.record("checkins", True, "1", now)
                    await preferences.save(uow, person, prefs, now)
                    await uow.outbox.schedule(
                        kinds.CHECKIN, slot="w0", referral=referral, due_at=due, now=now
                    )
    finally:
        await store.close()
    return time.monotonic() - started


def states(files: BotFiles) -> Counter[str]:
    with contextlib.closing(sqlite3.connect(files.database, timeout=30)) as db:
        rows = db.execute(
            "SELECT state, count(*) FROM outbox WHERE kind = ? AND slot = 'w0' GROUP BY state",
            (kinds.CHECKIN,),
        ).fetchall()
    return Counter({state: int(n) for state, n in rows})


def delivered(emulator: BotApiEmulator, people: int) -> list[tuple[int, float]]:
    """(chat id, emulator time, unix seconds) of every check-in Telegram accepted."""
    ours = range(FIRST_ID, FIRST_ID + people)
    return [
        (int(r.params["chat_id"]), r.at)
        for r in emulator.requests_for("sendMessage")
        if r.status == 200
        and str(r.params.get("text", "")).startswith(TEXT)
        and int(r.params["chat_id"]) in ours
    ]


async def benchmark(args: argparse.Namespace) -> dict[str, object]:
    n = args.people
    with tempfile.TemporaryDirectory(prefix="peerdoor-fanout-") as tmp:
        root = Path(tmp)
        async with BotApiEmulator(token=TOKEN, rate_limits=True) as emulator:
            for i in range(n):
                emulator.user(FIRST_ID + i, f"P{i}").chat.exists = True  # they wrote before
            files = BotFiles(root)
            files.data_dir.mkdir(parents=True)
            due = due_minute(datetime.now(UTC) + timedelta(seconds=n / 800))
            seeded = await seed(files, n, due)
            print(f"seeded {n} people in {seeded:.1f}s; due {due:%H:%M:%S}", file=sys.stderr)
            env = {**files.env(emulator), "PEERDOOR_RATE_LIMIT": "true"}
            bot = BotUnderTest(
                "peerdoor", [sys.executable, "-m", "bot.ops.cli", "run"], env, root, "bot.started"
            )
            await bot.start()
            try:
                wait = (due - datetime.now(UTC)).total_seconds()
                print(f"bot ready; {wait:.0f}s until due", file=sys.stderr, flush=True)
                deadline = time.monotonic() + max(wait, 0) + n / LIMIT * 3 + 60
                while time.monotonic() < deadline:
                    counted = states(files)
                    if counted["pending"] == 0:
                        break
                    await asyncio.sleep(1.0)
                await emulator.settle(quiet=1.0, timeout=30)
                usage = bot.usage()
            finally:
                await bot.stop()
            counted = states(files)
            arrived = delivered(emulator, n)
            per_chat = Counter(chat for chat, _ in arrived)
            times = sorted(at for _, at in arrived)
            due_clock = due.timestamp()
            first, last = (times[0], times[-1]) if times else (due_clock, due_clock)
            spread = max(last - first, 1e-9)
            rate = (len(times) - 1) / spread if len(times) > 1 else 0.0
            throttled = [t for t in emulator.too_many_requests if not t.injected]
            result: dict[str, object] = {
                "people": n,
                "due": due.isoformat(),
                "seed_seconds": round(seeded, 1),
                "first_after_due_s": round(first - due_clock, 2),
                "last_after_due_s": round(last - due_clock, 2),
                "delivery_seconds": round(spread, 1),
                "rate_per_s": round(rate, 2),
                "fraction_of_30_per_s": round(rate / LIMIT, 3),
                "emulator_429s": len(throttled),
                "delivered": len(times),
                "lost": sum(1 for i in range(n) if per_chat[FIRST_ID + i] == 0),
                "twice": sum(1 for c in per_chat.values() if c > 1),
                "outbox_w0": dict(counted),
                "bot_cpu_seconds": round(usage.cpu_seconds, 1),
                "bot_peak_rss_mib": round(usage.peak_rss_kib / 1024, 1),
                "machine": {"python": platform.python_version(), "cpus": _cpus()},
            }
    return result


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = asyncio.run(benchmark(args))
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    out = args.json or DEFAULT_JSON.with_name(f"fanout-{args.people}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ok = result["lost"] == 0 and result["twice"] == 0
    if not ok:
        print("FAILED: check-ins lost or sent twice", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
