"""Files for the operator that only the bot's user may read: mode 0600, never overwritten."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from bot.errors import SetupError


def refuse_existing(*paths: Path) -> None:
    """Fail before any work is done if one of the files is already there."""
    for path in paths:
        if path.exists():
            raise SetupError(f"{path} already exists: give a new name (nothing is overwritten)")


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist) with mode 0600 and write ``data`` to disk."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise SetupError(
            f"{path} already exists: give a new name (nothing is overwritten)"
        ) from exc
    except OSError as exc:
        raise SetupError(f"cannot create {path}: {exc.strerror}") from exc
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    os.close(fd)


def private_dir(path: Path) -> Path:
    """A folder for private files (created with mode 0700 if it does not exist)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(f"cannot create the folder {path}: {exc.strerror}") from exc
    return path
