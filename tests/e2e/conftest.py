"""Fixtures for end-to-end tests: the real bot, its files, the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import BotFiles, in_process


@pytest.fixture
def files(tmp_path: Path) -> BotFiles:
    return BotFiles(tmp_path)


@pytest.fixture
async def bot(files: BotFiles, emulator: BotApiEmulator) -> AsyncIterator[Runtime]:
    """The real bot, in this process, polling the emulator with the shipped example config."""
    async with in_process(files, emulator) as runtime:
        yield runtime
