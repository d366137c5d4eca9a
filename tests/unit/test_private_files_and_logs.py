"""Files and logs on the bot's machine: the database and the erasure key store are the bot
user's alone (0600, whatever the umask), and one log record is one line that holds no data."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.logs import setup_logging
from storage import KeyRing, Store, keystore_path

T0 = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems start services with: new files 0644, readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def bot_logging() -> Iterator[None]:
    """setup_logging replaces the root handlers and sets levels: put them back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_and_key_store_are_created_0600_under_umask_022(
    tmp_path: Path, usual_umask: None
) -> None:
    database = tmp_path / "peerdoor.db"
    store = await Store.open(database, KeyRing(KeyRing.generate()))
    try:
        async with store.unit() as uow:
            await uow.people.create(4242, T0)  # writes to both WALs
        keys = keystore_path(database)
        files = [database, keys]
        files += [Path(f"{p}-{suffix}") for p in (database, keys) for suffix in ("wal", "shm")]
        assert all(p.exists() for p in files), [p.name for p in files if not p.exists()]
        assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
    finally:
        await store.close()
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    assert mode(probe) == 0o644, "the umask in force would have made them readable by all"


async def test_an_existing_database_keeps_the_mode_the_operator_gave_it(
    tmp_path: Path, usual_umask: None
) -> None:
    database = tmp_path / "peerdoor.db"
    database.write_bytes(b"")
    database.chmod(0o640)
    store = await Store.open(database, KeyRing(KeyRing.generate()))
    await store.close()
    assert mode(database) == 0o640


def test_a_value_with_newlines_cannot_write_a_log_line_of_its_own(
    bot_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO")
    forged = "x\n2026-12-02T02:00:00 CRITICAL peerdoor forged\r\u2028line\x1b[2J"
    logging.getLogger("peerdoor.casework").warning("casework.refused action=%s", forged)
    logging.getLogger("peerdoor").info("plain event=%s", "kept")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith(
        "casework.refused action=x\\n2026-12-02T02:00:00 CRITICAL peerdoor forged"
        "\\r\\u2028line\\x1b[2J"
    )
    assert lines[1].endswith("plain event=kept")


async def test_debug_logging_never_prints_statements_or_their_parameters(
    tmp_path: Path, bot_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("DEBUG")
    logging.getLogger("peerdoor").debug("debug.on")
    store = await Store.open(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate()))
    try:
        async with store.unit() as uow:
            await uow.people.create(4242, T0)
    finally:
        await store.close()
    err = capsys.readouterr().err
    assert "debug.on" in err, "DEBUG is on for the bot's own loggers"
    assert "aiosqlite" not in err
    for statement in ("INSERT", "SELECT", "PRAGMA", "BEGIN"):
        assert statement not in err
