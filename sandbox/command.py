"""`peerdoor sandbox`: start it, print where to open it, stop cleanly on Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bot.logs import setup_logging

from .sandbox import Sandbox


def run_sandbox(port: int = 8080, config: Path | None = None) -> None:
    # The terminal stays readable: warnings only, unless PEERDOOR_LOG_LEVEL asks for more.
    setup_logging(os.environ.get("PEERDOOR_LOG_LEVEL", "WARNING"))
    asyncio.run(_run(port, config))
    print("Sandbox stopped: its chats, data and key are gone.", flush=True)


async def _run(port: int, config: Path | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sandbox = Sandbox(port=port, config=config)
    async with sandbox:
        print(f"Config: {sandbox.choice.label}", flush=True)
        print(f"Sandbox running: open {sandbox.url} (Ctrl+C to stop)", flush=True)
        await stop.wait()
