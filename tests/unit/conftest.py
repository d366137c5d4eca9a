"""Fixtures shared by the unit tests: a master key, and a store opened with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import KeyRing, Store
from tests.unit.storage_fixtures import opened


@pytest.fixture
def master() -> bytes:
    return KeyRing.generate()


@pytest.fixture
async def store(tmp_path: Path, master: bytes) -> AsyncIterator[Store]:
    """The store at tmp_path / "peerdoor.db", under `master`; closed after the test."""
    async with opened(tmp_path / "peerdoor.db", KeyRing(master)) as s:
        yield s
