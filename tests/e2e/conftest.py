"""Fixtures for end-to-end tests: the real bot, its files, the emulator."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import STARTED, BotFiles, in_process


@pytest.fixture
def files(tmp_path: Path) -> BotFiles:
    return BotFiles(tmp_path)


@pytest.fixture
async def bot(files: BotFiles, emulator: BotApiEmulator) -> AsyncIterator[Runtime]:
    """The real bot, in this process, polling the emulator with the shipped example config."""
    async with in_process(files, emulator) as runtime:
        yield runtime


@pytest.fixture(autouse=True)
def no_bot_process_left() -> Iterator[None]:
    """A test that fails half way may leave its `peerdoor run` running: kill it, so it does not
    poll a stopped emulator for the rest of the run."""
    yield
    while STARTED:
        pid = STARTED.pop()
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, os.WNOHANG)
