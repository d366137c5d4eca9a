"""A bot under test as its own process: start, wait until it polls, sample memory/CPU, stop."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from pathlib import Path

STOP_TIMEOUT = 20.0
READY_TIMEOUT = 30.0
SAMPLE_EVERY = 0.25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Usage:
    peak_rss_kib: int  # VmHWM: the kernel's high-water mark of the resident set
    cpu_seconds: float  # user + system, all threads, since it was ready (start-up excluded)


def read_status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[name] = int(parts[0])
    return fields


def cpu_seconds(pid: int) -> float:
    """utime + stime from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_name = stat.rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS


class BotUnderTest:
    """`argv` run with `env` in `cwd`; ready once `ready_marker` appears in its log."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], cwd: Path, ready_marker: str
    ) -> None:
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.ready_marker = ready_marker
        self.log_path = cwd / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.peak_sampled_kib = 0
        self.cpu_at_ready = 0.0
        self._sampler: asyncio.Task[None] | None = None
        self._profiler: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=log
            )
        await self._wait_ready()
        self.cpu_at_ready = cpu_seconds(self.pid)
        self._sampler = asyncio.create_task(self._sample())

    async def _wait_ready(self) -> None:
        # Start-up only: polling the log file here does not overlap the measurement.
        assert self.process is not None
        async with asyncio.timeout(READY_TIMEOUT):
            while self.ready_marker not in self.log_path.read_text(errors="replace"):
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited at start-up:\n{self.log_tail()}")
                await asyncio.sleep(0.05)

    async def _sample(self) -> None:
        """VmRSS every SAMPLE_EVERY s, as a cross-check of VmHWM."""
        while True:
            try:
                rss = read_status(self.pid).get("VmRSS", 0)
            except FileNotFoundError:
                return
            self.peak_sampled_kib = max(self.peak_sampled_kib, rss)
            await asyncio.sleep(SAMPLE_EVERY)

    async def profile(self, out: Path, rate: int = 997) -> None:  # ~1 kHz, off the timers
        """Sample the bot with py-spy (collapsed stacks to `out`) until `stop`."""
        self._profiler = await asyncio.create_subprocess_exec(
            "py-spy", "record", "--pid", str(self.pid), "--output", str(out),
            "--format", "raw", "--rate", str(rate), "--nonblocking", "--threads",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    async def _stop_profiler(self) -> None:
        profiler, self._profiler = self._profiler, None
        if profiler is None or profiler.returncode is not None:
            return
        profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await profiler.wait()
        except TimeoutError:
            profiler.kill()
            await profiler.wait()

    def usage(self) -> Usage:
        """Read while the process is still alive (before `stop`)."""
        status = read_status(self.pid)
        return Usage(status.get("VmHWM", 0), cpu_seconds(self.pid) - self.cpu_at_ready)

    def log_tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_text(errors="replace")[-chars:]

    async def stop(self) -> int | None:
        """SIGTERM, wait; SIGKILL if it does not exit within STOP_TIMEOUT seconds."""
        if self._sampler is not None:
            self._sampler.cancel()
        await self._stop_profiler()
        process = self.process
        if process is None or process.returncode is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                return await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError(
                f"{self.name} did not stop within {STOP_TIMEOUT:.0f}s of SIGTERM; killed"
            ) from None
