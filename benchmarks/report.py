"""Figures of one phase, the side-by-side table, and the JSON file."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

from .people import Outcome
from .process import Usage

TELEGRAM_OVERALL_LIMIT = 30.0  # messages per second, across all chats (Bot API FAQ)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class PhaseResult:
    name: str
    people: int
    completed: int
    failed: int
    wall_seconds: float  # first update queued .. last answer of anyone
    updates: int  # updates answered
    updates_per_person: float
    per_second_completed: float
    updates_per_second: float
    visible_requests: int  # send*/edit* requests to chats (what Telegram's caps count)
    visible_requests_per_second: float
    multiple_of_telegram_limit: float
    latency_first_p50_ms: float
    latency_first_p99_ms: float
    latency_first_max_ms: float
    latency_full_p50_ms: float
    latency_full_p99_ms: float
    peak_rss_mib: float  # VmHWM of the bot process
    peak_rss_sampled_mib: float  # highest VmRSS seen polling every 0.25 s
    bot_cpu_seconds: float
    bot_cpu_share: float  # bot CPU seconds / wall seconds (1.0 = one core busy throughout)
    driver_cpu_share: float  # this process (emulator + people) CPU / wall
    requests_by_method: dict[str, int]
    errors: list[str]


def summarise(
    name: str,
    outcomes: Sequence[Outcome],
    usage: Usage,
    sampled_kib: int,
    driver_cpu: float,
    requests_by_method: dict[str, int],
    visible_requests: int,
) -> PhaseResult:
    done = [o for o in outcomes if o.ok]
    samples = [s for o in outcomes for s in o.samples]
    started = [o.started for o in outcomes if o.samples]
    wall = (max(o.finished for o in outcomes) - min(started)) if started else math.nan
    first = [s.first * 1000 for s in samples]
    full = [s.full * 1000 for s in samples]
    visible_rate = visible_requests / wall
    return PhaseResult(
        name=name,
        people=len(outcomes),
        completed=len(done),
        failed=len(outcomes) - len(done),
        wall_seconds=wall,
        updates=len(samples),
        updates_per_person=len(samples) / max(1, len(outcomes)),
        per_second_completed=len(done) / wall,
        updates_per_second=len(samples) / wall,
        visible_requests=visible_requests,
        visible_requests_per_second=visible_rate,
        multiple_of_telegram_limit=visible_rate / TELEGRAM_OVERALL_LIMIT,
        latency_first_p50_ms=percentile(first, 50),
        latency_first_p99_ms=percentile(first, 99),
        latency_first_max_ms=percentile(first, 100),
        latency_full_p50_ms=percentile(full, 50),
        latency_full_p99_ms=percentile(full, 99),
        peak_rss_mib=usage.peak_rss_kib / 1024,
        peak_rss_sampled_mib=sampled_kib / 1024,
        bot_cpu_seconds=usage.cpu_seconds,
        bot_cpu_share=usage.cpu_seconds / wall,
        driver_cpu_share=driver_cpu / wall,
        requests_by_method=requests_by_method,
        errors=[f"person {o.person_id}: {o.error}" for o in outcomes if o.error][:20],
    )


def ratios(bot: PhaseResult, base: PhaseResult) -> dict[str, float]:
    return {
        "updates_per_second": bot.updates_per_second / base.updates_per_second,
        "latency_first_p50": bot.latency_first_p50_ms / base.latency_first_p50_ms,
        "latency_first_p99": bot.latency_first_p99_ms / base.latency_first_p99_ms,
        "peak_rss": bot.peak_rss_mib / base.peak_rss_mib,
    }


def machine() -> dict[str, object]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "python_telegram_bot": version("python-telegram-bot"),
    }


_ROWS: list[tuple[str, str, str]] = [
    # label, field, format
    ("people completed", "completed", "{:.0f}"),
    ("people failed", "failed", "{:.0f}"),
    ("wall time (s)", "wall_seconds", "{:.1f}"),
    ("completed per second", "per_second_completed", "{:.2f}"),
    ("updates per person", "updates_per_person", "{:.1f}"),
    ("updates per second", "updates_per_second", "{:.1f}"),
    ("send/edit requests per second", "visible_requests_per_second", "{:.1f}"),
    ("  as a multiple of Telegram's 30/s", "multiple_of_telegram_limit", "{:.2f}x"),
    ("first reply p50 (ms)", "latency_first_p50_ms", "{:.0f}"),
    ("first reply p99 (ms)", "latency_first_p99_ms", "{:.0f}"),
    ("first reply max (ms)", "latency_first_max_ms", "{:.0f}"),
    ("whole answer p50 (ms)", "latency_full_p50_ms", "{:.0f}"),
    ("whole answer p99 (ms)", "latency_full_p99_ms", "{:.0f}"),
    ("bot peak RSS, VmHWM (MiB)", "peak_rss_mib", "{:.1f}"),
    ("bot CPU (s)", "bot_cpu_seconds", "{:.1f}"),
    ("bot CPU / wall", "bot_cpu_share", "{:.2f}"),
    ("driver+emulator CPU / wall", "driver_cpu_share", "{:.2f}"),
]


def table(bot: PhaseResult, base: PhaseResult | None) -> str:
    names = [bot.name] + ([base.name] if base else [])
    lines = [f"{'':38}" + "".join(f"{n:>16}" for n in names)]
    for label, name, fmt in _ROWS:
        cells = [fmt.format(getattr(bot, name))]
        if base is not None:
            cells.append(fmt.format(getattr(base, name)))
        lines.append(f"{label:38}" + "".join(f"{c:>16}" for c in cells))
    if base is not None:
        lines.append("")
        lines.append(f"ratios {bot.name} / {base.name}:")
        for key, value in ratios(bot, base).items():
            lines.append(f"  {key:36}{value:>10.3f}")
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=_plain) + "\n")


def _plain(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
