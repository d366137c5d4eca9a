"""Benchmark: one account sends a burst of texts; how long does someone else wait for a reply?

    python -m benchmarks.flood [--burst N] [--json PATH]

The real bot (in this process, rate limiter on, as shipped) against the emulator. Baseline: one
person sends /start alone; we time their first reply. Then a fresh bot: another account sends N
texts at once (each answered with the welcome), and right after them the person sends /start.
We time the person's first reply again and count how many of the flood's updates were answered
before it. Issue #16, finding 5: before per-person fairness, 300 texts pushed the reply from
about 0.05 s to 3.3 s. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import BotFiles, in_process

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "flood.json"
WELCOME = "thank you for getting in touch"


async def first_reply(burst: int) -> dict[str, float | int]:
    """Seconds until the person's first reply while ``burst`` texts from another account wait."""
    with tempfile.TemporaryDirectory() as folder:
        async with BotApiEmulator() as emulator:
            files = BotFiles(Path(folder))
            flooder, person = emulator.user(5801, "Flood"), emulator.user(5802, "Person")
            async with in_process(files, emulator):
                for i in range(burst):
                    await flooder.send(f"hello {i}")
                start = time.perf_counter()
                await person.send("/start")
                await person.wait_for(lambda m: WELCOME in m.text, timeout=600)
                waited = time.perf_counter() - start
                before = len(flooder.bot_messages)
                await emulator.wait_until(
                    lambda: sum(WELCOME in m.text for m in flooder.bot_messages) >= burst,
                    timeout=600,
                    what="the flood answered",
                )
                per_update = len(flooder.bot_messages) // burst if burst else 1
    return {
        "burst": burst,
        "first_reply_s": round(waited, 3),
        "flood_updates_answered_first": before // max(per_update, 1),
    }


async def main(burst: int, out: Path) -> int:
    baseline = await first_reply(0)
    flooded = await first_reply(burst)
    result = {
        "python": platform.python_version(),
        "baseline": baseline,
        "flooded": flooded,
        "slowdown": round(flooded["first_reply_s"] / max(baseline["first_reply_s"], 1e-3), 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.burst, args.json)))
