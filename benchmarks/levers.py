"""`peerdoor run` with performance levers switched on, to measure them in the same run.

    PEERDOOR_BENCH_LEVERS=uvloop+nosync python -m benchmarks.levers

Each lever is applied before the bot's modules are imported, then `bot.ops.cli main(["run"])`:

- `uvloop`: the event loop from uvloop.
- `nosync`: SQLite `synchronous = NORMAL` (WAL: no fsync at commit). NOT durable: what the
  fsync still costs the bot (group commit, storage/store.py, shares one between units).

Two more only look (they change nothing in the bot but its speed):

- `trace`: how long each unit of work waited for the store's write lock and held it, how much
  of the hold was spent in aiosqlite's worker thread and how much on the loop's CPU; appended
  to `PEERDOOR_BENCH_TRACE` (default /tmp/trace.txt) when the bot exits.
- `cprofile`: cProfile over the whole run, written to `PEERDOOR_BENCH_PROFILE` at exit.
- `gcpause`: how often the garbage collector ran, per generation, and how long it held the
  event loop (mean and longest); appended to `PEERDOOR_BENCH_TRACE` at exit.

And `gc`: the loaded modules frozen out of the garbage collector (`gc.freeze`) and its first
threshold raised to 10,000. Measured on the group commit branch, 3 rounds: 430, 490, 430
actions/s against 490, 381, 444 without; no gain beyond the noise, not taken.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

LEVERS = frozenset({"uvloop", "nosync", "trace", "cprofile", "gc", "gcpause"})


def apply(levers: set[str]) -> None:
    unknown = levers - LEVERS
    if unknown:
        raise SystemExit(f"unknown levers {sorted(unknown)}; known: {sorted(LEVERS)}")
    if "uvloop" in levers:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if "nosync" in levers:
        from storage import db

        connect = db.connect

        async def unsynced(*args: Any, **kwargs: Any) -> Any:
            conn = await connect(*args, **kwargs)
            await conn.execute("PRAGMA synchronous = NORMAL")
            return conn

        db.connect = unsynced  # type: ignore[assignment]
    if "trace" in levers:
        _trace()
    if "gcpause" in levers:
        _gc_pauses()
    if "cprofile" in levers:
        import atexit
        import cProfile

        profile = cProfile.Profile()
        profile.enable()

        def dump() -> None:
            profile.disable()
            profile.dump_stats(os.environ.get("PEERDOOR_BENCH_PROFILE", "/tmp/peerdoor.prof"))

        atexit.register(dump)


def _gc_pauses() -> None:
    """The `gcpause` lever: each collection's length, by generation."""
    import atexit
    import gc
    import time

    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    full: list[str] = []  # each full pass: when (seconds from the lever), how long, frozen yet?
    began, started = time.perf_counter(), [0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = time.perf_counter() - started[0]
        pauses[info["generation"]].append(took)
        if info["generation"] == 2:
            frozen = "frozen" if gc.get_freeze_count() else "not frozen"
            full.append(f"{started[0] - began:.1f}s {1000 * took:.1f}ms {frozen}")

    gc.callbacks.append(timed)

    def report() -> None:
        lines = [
            f"gc generation {g}: {len(p)} collections, mean {1000 * sum(p) / len(p):.2f} ms, "
            f"longest {1000 * max(p):.1f} ms, over 34 ms: {sum(1 for x in p if x > 0.034)}"
            for g, p in pauses.items()
            if p
        ]
        with open(os.environ.get("PEERDOOR_BENCH_TRACE", "/tmp/trace.txt"), "a") as out:
            out.write(
                f"gc frozen: {gc.get_freeze_count()} objects\n" + "\n".join(lines) + "\n"
                f"full passes: {', '.join(full)}\n"
            )

    atexit.register(report)


def _trace() -> None:
    """The `trace` lever: time spent waiting for, and holding, the store's write lock."""
    import atexit
    import time

    from storage import db
    from storage import store as store_mod

    waits: list[float] = []
    holds: list[float] = []  # wall time from acquiring to releasing
    trips: list[float] = []  # of that, awaiting aiosqlite's worker thread
    cpus: list[float] = []  # of that, the loop thread's CPU (other tasks' too)
    trip = [0.0, 0]  # seconds awaiting the worker in the current hold; calls to it in all

    class TimedLock(asyncio.Lock):
        began = 0.0
        cpu = 0.0

        async def acquire(self) -> Any:
            asked = time.perf_counter()
            result = await super().acquire()
            self.began = time.perf_counter()
            self.cpu = time.thread_time()
            waits.append(self.began - asked)
            trip[0] = 0.0
            return result

        def release(self) -> None:
            holds.append(time.perf_counter() - self.began)
            cpus.append(time.thread_time() - self.cpu)
            trips.append(trip[0])
            super().release()

    init = store_mod.Store.__init__

    def timed_lock(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._lock = TimedLock()

    store_mod.Store.__init__ = timed_lock  # type: ignore[method-assign]
    queued = db.Connection._counted

    def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trip[1] += 1
        return queued(self, fn, *args, **kwargs)

    worker = db.aiosqlite.Connection._execute

    async def timed(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await worker(self, fn, *args, **kwargs)
        finally:
            trip[0] += time.perf_counter() - began

    db.Connection._counted = counted  # type: ignore[method-assign]
    db.aiosqlite.Connection._execute = timed  # type: ignore[method-assign]

    def figures(xs: list[float]) -> str:
        xs = sorted(xs)
        if not xs:
            return "-"
        n = len(xs)
        at = [1e3 * xs[n * q // 100] for q in (50, 90, 99)]
        mean = 1e3 * sum(xs) / n
        return f"n={n} p50={at[0]:.2f}ms p90={at[1]:.2f}ms p99={at[2]:.2f}ms mean={mean:.2f}ms"

    def report() -> None:
        lines = [
            f"wait {figures(waits)}",
            f"hold {figures(holds)}",
            f"worker-in-hold {figures(trips)}",
            f"cpu-in-hold {figures(cpus)}",
            f"worker-calls {trip[1]}",
        ]
        with open(os.environ.get("PEERDOOR_BENCH_TRACE", "/tmp/trace.txt"), "a") as out:
            out.write("\n".join(lines) + "\n")

    atexit.register(report)


def main() -> int:
    named = os.environ.get("PEERDOOR_BENCH_LEVERS", "").replace("+", ",")
    levers = {x for x in named.split(",") if x}
    apply(levers)
    from bot.ops.cli import main as cli

    if "gc" in levers:  # the modules are loaded: out of every later collection
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)
    return cli(["run"])


if __name__ == "__main__":
    sys.exit(main())
