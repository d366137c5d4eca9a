"""The database failing under the bot: another process holding a write lock for longer than the
busy timeout, and a full disk. The person hears kindly that something went wrong on our side and
that their earlier answers are saved; the log says what failed without a word of what they said;
nothing on disk is damaged; and everything works again once the lock is gone or space is free."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.emulator import BotApiEmulator, Call, ScriptedUser
from tests.e2e.coordination import GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import HIV_PLAN, BotFiles, BotProcess, consent, drain, in_process
from tests.e2e.resilience import (
    WENT_WRONG,
    held,
    integrity,
    locked_database,
    outbox_notices,
)

BUSY_TIMEOUT = 5.0  # storage.db.BUSY_TIMEOUT_MS


async def first_answers(person: ScriptedUser) -> None:
    """Consent, then the name and the contact route: both acknowledged by the next question."""
    await consent(person)
    await person.press("Continue")
    await person.wait_for(lambda m: m.text.startswith("Question 1 of"))
    await person.send("Ash")
    await person.wait_for(lambda m: m.text.startswith("Question 2 of"))
    await person.press("Only through this chat")
    await person.wait_for(lambda m: m.text.startswith("Question 3 of"))
    await person.press("25 to 34")
    await person.wait_for(lambda m: m.text.startswith("Question 4 of"))  # area, typed


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_locked_database_gets_a_kind_reply_and_loses_nothing(
    files: BotFiles, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ash = emulator.user(9101, "Ash")
    async with in_process(files, emulator) as runtime:
        await first_answers(ash)
        with locked_database(files.database):
            began = time.monotonic()
            await ash.send("Hove Lagoon Canary")
            wrong = await ash.wait_for(lambda m: WENT_WRONG in m.text, timeout=BUSY_TIMEOUT + 5)
            waited = time.monotonic() - began
            assert "Your earlier answers are saved" in wrong.text
            assert waited >= BUSY_TIMEOUT - 0.5, "gave up before the busy timeout"
        errors = error_lines(caplog)
        assert any(e.startswith("update.failed error=StorageError") for e in errors), errors
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "Hove Lagoon Canary" not in logged and "Ash" not in logged

        # Nothing damaged, nothing acknowledged lost; the answer that failed was not taken.
        assert integrity(files.database) == "ok"
        holding = await held(runtime.store, ash.id)
        assert holding.draft is not None
        assert holding.draft.answers == {
            "name": "Ash",
            "contact_route": "chat",
            "age_band": "25_34",
        }
        assert holding.draft.current == "area"

        # Working again: the person sends it again and carries on.
        await ash.send("Hove Lagoon Canary")
        await ash.wait_for(lambda m: m.text.startswith("Question 5 of"))
        holding = await held(runtime.store, ash.id)
        assert holding.draft is not None
        assert holding.draft.answers["area"] == "Hove Lagoon Canary"


async def test_a_lock_while_a_notice_is_on_the_wire_sends_it_once(
    tmp_path: Path, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process takes the write lock the moment the group notice goes out, so the
    worker cannot mark it sent. The bot knows Telegram took the notice (it has its message
    id): once the lock is gone, the group must not get it a second time, and the worker must
    carry on with the next referral."""
    caplog.set_level(logging.INFO)
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    robin, sam = emulator.user(9201, "Robin"), emulator.user(9202, "Sam")
    lock = contextlib.ExitStack()
    locked_at: list[float] = []

    def lock_as_it_goes_out(call: Call) -> bool:
        if not locked_at:  # the first notice: lock, and let it through to the group
            lock.enter_context(locked_database(files.database))
            locked_at.append(time.monotonic())
        return False

    emulator.fail_next("sendMessage", chat_id=GROUP_ID, when=lock_as_it_goes_out)
    try:
        async with in_process(files, emulator) as runtime:
            reference = await refer(robin, HIV_PLAN, files.config())
            await group_notice(group, reference)
            assert locked_at
            # The mark waits out the busy timeout and fails (its error logged): then unlock.
            await emulator.wait_until(
                lambda: any("StorageError" in e for e in error_lines(caplog)),
                timeout=BUSY_TIMEOUT + 10.0,
                what="the failed mark",
            )
            lock.close()

            other = await refer(sam, HIV_PLAN, files.config())
            await group_notice(group, other, timeout=15)
            # the row that went out is recorded on a later round (postponed, never resent)
            await emulator.wait_until(
                lambda: outbox_notices(files.database).get(reference) == ["sent"],
                timeout=30.0,
                what="the notice recorded as sent",
            )
            await drain(runtime, emulator)
            worker = runtime.worker._task
            assert worker is not None and not worker.done(), "the delivery worker stopped"
    finally:
        lock.close()
    notices = [m.text or "" for m in group.chat.sent_by_bot]
    assert sum(other in t for t in notices) == 1
    assert sum(reference in t for t in notices) == 1, (
        f"the notice for {reference} reached the group "
        f"{sum(reference in t for t in notices)} times: it was delivered, only marking it sent "
        "failed, and the worker sent it again"
    )
    assert outbox_notices(files.database)[reference] == ["sent"]
    assert integrity(files.database) == "ok"


# -- a full disk -----------------------------------------------------------------------------


@contextlib.contextmanager
def tiny_filesystem(folder: Path, size: str = "2m") -> Iterator[bool]:
    """A tmpfs of `size` mounted on `folder`; yields False (and mounts nothing) where this
    machine does not allow mounting (not root)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem is full; returns it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * 4096
        while True:
            os.write(fd, block)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


EARLIER = {"name": "Ash", "contact_route": "chat", "age_band": "25_34"}


async def test_a_full_disk_gets_a_kind_reply_and_corrupts_nothing(
    files: BotFiles, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """As root: the data folder is a 2 MB tmpfs, filled up mid-form. Elsewhere, the same with
    a file size limit (`ulimit -f`) put on the running bot process: SQLite then cannot grow
    the write-ahead log either."""
    caplog.set_level(logging.INFO)
    ash = emulator.user(9301, "Ash")
    with tiny_filesystem(files.data_dir) as mounted:
        if not mounted:
            await full_disk_by_file_size_limit(files, emulator, ash)
            return
        async with in_process(files, emulator) as runtime:
            await first_answers(ash)
            filler = fill(files.data_dir)
            await ash.send("Hove Lagoon Canary")
            wrong = await ash.wait_for(lambda m: WENT_WRONG in m.text, timeout=10)
            assert "Your earlier answers are saved" in wrong.text
            errors = error_lines(caplog)
            assert any(e.startswith("update.failed error=StorageError") for e in errors), errors
            logged = "\n".join(r.getMessage() for r in caplog.records)
            assert "Hove Lagoon Canary" not in logged and "Ash" not in logged

            # Still full: the file is sound and the earlier answers read back.
            assert integrity(files.database) == "ok"
            holding = await held(runtime.store, ash.id)
            assert holding.draft is not None
            assert holding.draft.answers == EARLIER

            # Space again: the person sends it again and carries on.
            os.unlink(filler)
            await ash.send("Hove Lagoon Canary")
            await ash.wait_for(lambda m: m.text.startswith("Question 5 of"))
            holding = await held(runtime.store, ash.id)
            assert holding.draft is not None
            assert holding.draft.answers["area"] == "Hove Lagoon Canary"
        assert integrity(files.database) == "ok"


async def full_disk_by_file_size_limit(
    files: BotFiles, emulator: BotApiEmulator, ash: ScriptedUser
) -> None:
    """Without root: RLIMIT_FSIZE on the bot process at the current size of its database
    files, so that no write can grow them (SQLite reports an I/O error, not SQLITE_FULL)."""
    bot = BotProcess(files, emulator)
    await bot.start()
    try:
        await first_answers(ash)
        assert bot.process is not None
        pid = bot.process.pid
        parts = [files.database, Path(f"{files.database}-wal")]
        limit = max(part.stat().st_size for part in parts if part.exists())
        soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))
        await ash.send("Hove Lagoon Canary")
        wrong = await ash.wait_for(lambda m: WENT_WRONG in m.text, timeout=10)
        assert "Your earlier answers are saved" in wrong.text
        log = bot.log.read_text(errors="replace")
        assert "update.failed error=StorageError" in log, log[-2000:]
        assert "Hove Lagoon Canary" not in log and "Ash" not in log

        assert integrity(files.database) == "ok"
        store = await files.open_store()
        try:
            holding = await held(store, ash.id)
        finally:
            await store.close()
        assert holding.draft is not None
        assert holding.draft.answers == EARLIER

        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
        await ash.send("Hove Lagoon Canary")
        await ash.wait_for(lambda m: m.text.startswith("Question 5 of"))
    finally:
        assert await bot.stop() == 0
    assert integrity(files.database) == "ok"
