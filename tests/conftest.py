"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox.emulator import BotApiEmulator


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """A started Bot API emulator (token "123456:TEST-token"), stopped after the test."""
    async with BotApiEmulator() as emu:
        yield emu
