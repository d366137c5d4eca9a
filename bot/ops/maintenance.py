"""Operator safety: master-key rotation, online backups, the retention purge.

Rotation with a key file, in this order (each step durable before the next):

1. the new key is written to ``<key file>.next`` (temp file 0600, fsync, rename, fsync folder);
2. the old key is copied to ``<key file>.retired-<old key id>`` (0600, fsync);
3. every data key and secret is re-wrapped under the new key in ONE database transaction
   (``Store.rotate`` with ``KeyRing(new, retired=[old])``): before its commit the database is
   entirely under the old key, after it entirely under the new one;
4. ``.next`` is renamed over the key file (fsync folder).

A crash anywhere leaves either no ``.next`` (nothing happened, or all of it did) or a ``.next``
next to the old key file. Every start (``ready_master_key``) finishes such a rotation by running
steps 2-4 again, which are idempotent: the database opens with either key, ``rotate`` re-wraps
whatever is not yet under the new key (nothing, after step 3), and the rename completes. The key
file is never replaced before the database is under the key it will hold.

A bot already running with the old key notices at its next transaction (the store checks which
master key the database is under, inside the write lock) and reloads the key file (or ``.next``),
going on without a restart. If it cannot find the key (PEERDOOR_MASTER_KEY), it writes nothing,
logs ``key.rotated_elsewhere`` and needs a restart with the new key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.errors import SetupError
from bot.ops.keys import (
    fsync_dir,
    keep_retired_key,
    load_master_key,
    next_key_path,
    read_key_file,
    retired_key_path,
    uses_environment,
    write_key_atomically,
)
from bot.services import groups
from bot.settings import Settings
from conversations.draft import Draft
from conversations.forms import ServiceConfig
from storage import (
    KeyRing,
    KeyStoreMissing,
    Purged,
    Store,
    WrongKeyStore,
    WrongMasterKey,
    crashpoints,
)
from storage.backup import backup_database, backup_keystore, master_key_id
from storage.crypto import key_id_of
from storage.errors import StorageError
from storage.keystore import keystore_path
from storage.retention import cutoffs
from storage.store import KeyReloader

log = logging.getLogger("peerdoor.maintenance")

PURGE_EVERY = timedelta(days=1)
PURGE_FIRST = timedelta(minutes=2)  # soon after start, so frequent restarts never skip it
#: Rows per query per transaction. Each transaction holds the write lock, and every update
#: waits for it: with 200, a person's update waited 152 ms (p50, p99 349) while a backlog was
#: purged; with 25, 18 ms (p99 55), for 17 % more time in all (benchmarks/README.md, "purge").
PURGE_BATCH = 25
MAX_BATCHES = 8000  # per run (200,000 rows); what is left waits for the next run


@dataclass(frozen=True)
class Rotation:
    old_id: str
    new_id: str
    rewrapped: int
    retired: Path | None = None  # where the old key was kept (key file mode)
    resumed: bool = False  # finished a rotation that had been interrupted


# --- opening ---------------------------------------------------------------------------------


async def open_store(settings: Settings, keyring: KeyRing) -> Store:
    try:
        return await Store.open(settings.database, keyring)
    except WrongMasterKey as exc:
        raise SetupError(
            f"the master key does not match the database {settings.database}: use its current "
            "key (after `peerdoor rotate-key`, the new one; a .retired-* key opens only older "
            "backups)"
        ) from exc
    except (KeyStoreMissing, WrongKeyStore) as exc:
        raise SetupError(str(exc)) from exc


async def ready_master_key(settings: Settings, *, verify: bool = False) -> bytes:
    """The master key to start with, after finishing an interrupted rotation.

    With ``verify``, an existing database is opened once to check the key (nothing is written
    with a wrong key: Store.open checks it before writing).
    """
    await finish_interrupted_rotation(settings)
    key = load_master_key(settings)
    if verify and settings.database.exists():
        store = await open_store(settings, KeyRing(key))
        await store.close()
    return key


# --- rotation --------------------------------------------------------------------------------


async def finish_interrupted_rotation(settings: Settings) -> Rotation | None:
    """Complete a rotation that stopped between writing ``.next`` and renaming it."""
    if uses_environment(settings):
        return None
    path = settings.key_file
    upcoming = next_key_path(path)
    if not upcoming.exists():
        return None
    log.warning("key.rotation_resuming")
    return await _complete(settings, read_key_file(path), read_key_file(upcoming), resumed=True)


async def rotate_key(settings: Settings, announce: Callable[[bytes], None]) -> Rotation:
    """Re-wrap everything under a new master key.

    Key file: see the module docstring. PEERDOOR_MASTER_KEY: no file is written; ``announce``
    gets the new key BEFORE the database depends on it (it must be shown to the operator), then
    the database is re-wrapped in one transaction.
    """
    if not settings.database.exists():
        raise SetupError(f"there is no database at {settings.database}: nothing to rotate")
    if uses_environment(settings):
        old = load_master_key(settings)
        await (await open_store(settings, KeyRing(old))).close()  # the right key, or stop here
        new = KeyRing.generate()
        announce(new)
        store = await open_store(settings, KeyRing(new, retired=[old]))
        try:
            count = await store.rotate()
        finally:
            await store.close()
        return Rotation(key_id_of(old), key_id_of(new), count)
    resumed = await finish_interrupted_rotation(settings)
    if resumed is not None:
        return resumed
    path = settings.key_file
    for stale in path.parent.glob(f"{path.name}.next.tmp-*"):
        stale.unlink()  # a temp file from a rotation that stopped before step 1 completed
    old = load_master_key(settings)
    await (await open_store(settings, KeyRing(old))).close()
    new = KeyRing.generate()
    write_key_atomically(next_key_path(path), new)  # step 1
    return await _complete(settings, old, new, resumed=False)


async def _complete(settings: Settings, old: bytes, new: bytes, *, resumed: bool) -> Rotation:
    """Steps 2-4; safe to repeat."""
    path = settings.key_file
    store = await open_store(settings, KeyRing(new, retired=[old]))  # either key opens it
    try:
        retired = retired_key_path(path, key_id_of(old))
        if old != new:
            keep_retired_key(retired, old)  # step 2
        count = await store.rotate()  # step 3: one transaction
    finally:
        await store.close()
    crashpoints.reached("rotation.rewrapped")
    try:
        os.replace(next_key_path(path), path)  # step 4
    except FileNotFoundError:  # another process (a starting bot) finished it first
        if read_key_file(path) != new:
            raise
    fsync_dir(path.parent)
    log.info("key.rotated rewrapped=%d", count)
    return Rotation(key_id_of(old), key_id_of(new), count, retired, resumed)


def key_reloader(settings: Settings) -> KeyReloader:
    """For a running bot: the master key the database is now under, from the key file or .next."""
    silent = False

    def reload(key_id: str) -> bytes | None:
        nonlocal silent
        if not uses_environment(settings):
            for path in (settings.key_file, next_key_path(settings.key_file)):
                try:
                    key = read_key_file(path)
                except SetupError:
                    continue
                if key_id_of(key) == key_id:
                    log.warning("key.reloaded key_id=%s", key_id)
                    silent = False
                    return key
        if not silent:
            log.error(
                "key.rotated_elsewhere key_id=%s: writing nothing; restart the bot with the new "
                "master key",
                key_id,
            )
            silent = True
        return None

    return reload


# --- backup ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    key_id: str | None  # which master key opens it (public id)
    keystore: Path  # the erasure key store it opens with: NOT in the copy, backed up apart


def backup(settings: Settings, target: Path) -> Backup:
    """A consistent copy of the live database at ``target`` (new file, 0600).

    The database only: the erasure key store is left out on purpose (see storage/keystore.py),
    so that a person erased after this copy cannot be read from it with the key store as it is
    then.
    """
    if target.exists() or target.is_symlink():
        raise SetupError(f"{target} already exists: a backup never overwrites, choose a new name")
    try:
        size = backup_database(settings.database, target)
    except FileExistsError:
        raise SetupError(f"{target} already exists: a backup never overwrites") from None
    except OSError as exc:
        raise SetupError(f"cannot write the backup {target} ({exc.strerror})") from exc
    except StorageError as exc:
        raise SetupError(str(exc)) from exc
    return Backup(target, size, master_key_id(target), keystore_path(settings.database))


def backup_keys(settings: Settings, target: Path) -> Backup:
    """The latest copy of the erasure key store at ``target``, replacing the one there."""
    source = keystore_path(settings.database)
    if target.resolve() == source.resolve():
        raise SetupError(f"{target} is the key store itself: choose a place apart from the data")
    try:
        size = backup_keystore(source, target)
    except OSError as exc:
        raise SetupError(f"cannot write the key store copy {target} ({exc.strerror})") from exc
    except StorageError as exc:
        raise SetupError(str(exc)) from exc
    return Backup(target, size, None, source)


# --- retention -------------------------------------------------------------------------------


def _draft_programme(state: bytes) -> str | None:
    return Draft.from_bytes(state).programme


async def purge(store: Store, config: ServiceConfig, now: datetime) -> Purged:
    """Erase expired drafts and closed referrals of every programme; audit and log counts.

    First the rows of people erased before a restore (``Store.remove_leftovers``).

    In batches of at most PURGE_BATCH rows per query, each in its own short transaction with
    its own audit entry, so a large first purge never holds the bot's writes back for long.
    """
    programmes = config.programmes
    drafts = cutoffs({p.id: p.retention.drafts_days for p in programmes}, now)
    closed = cutoffs({p.id: p.retention.closed_days for p in programmes}, now)
    total = Purged(leftovers=await store.remove_leftovers())
    if total.leftovers:
        async with store.unit() as uow:
            await uow.audit.record(None, "erasure_leftovers", now, detail=total.detail())
    for _ in range(MAX_BATCHES):
        async with store.unit() as uow:
            batch = await uow.retention.purge(
                drafts_before=drafts,
                closed_before=closed,
                draft_programme=_draft_programme,
                limit=PURGE_BATCH,
            )
            await uow.audit.record(None, "retention_purge", now, detail=batch.detail())
            await groups.refill(uow, list(batch.freed_groups), now)  # the next in line, at once
        total = Purged(
            total.drafts + batch.drafts,
            total.referrals + batch.referrals,
            total.people + batch.people,
            batch.more,
            total.leftovers,
        )
        if not batch.more:
            break
    async with store.unit() as uow:  # volunteers who stopped: as long as a closed referral
        stopped = sum([await uow.applicants.prune(p, when) for p, when in closed.items()])
        if stopped:
            await uow.audit.record(None, "retention_purge", now, detail=f"applicants={stopped}")
            log.info("retention.purged applicants=%d", stopped)
    log.info(
        "retention.purged drafts=%d referrals=%d people=%d more=%s leftovers=%d",
        total.drafts,
        total.referrals,
        total.people,
        total.more,
        total.leftovers,
    )
    return total


async def daily_purge(store: Store, config: ServiceConfig, now: datetime) -> None:
    """The daily run (a job of the bot): a failure is logged (by kind) and retried next day."""
    try:
        await purge(store, config, now)
    except Exception as exc:
        log.error("retention.purge_failed error=%s", type(exc).__name__)
