"""The master key: from PEERDOOR_MASTER_KEY or the key file that `peerdoor init` writes.

Beside the key file, `peerdoor rotate-key` uses two more names: ``<key file>.next`` (the new key,
written before the database is re-wrapped, renamed over the key file after) and
``<key file>.retired-<key id>`` (the old key, kept for backups taken before the rotation).
All are written 0600 and fsynced; the key file is only ever replaced by an atomic rename.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from pathlib import Path

from bot.errors import SetupError
from bot.settings import Settings

KEY_BYTES = 32


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def decode_key(text: str, source: str) -> bytes:
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 2 * KEY_BYTES else base64.urlsafe_b64decode(text)
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != KEY_BYTES:
        raise SetupError(
            f"{source} is not a valid master key (32 bytes, base64 or hex): "
            "restore the right key, or run `peerdoor init` for a new install"
        )
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Create the key file with mode 0600; never overwrite an existing one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_key(key) + "\n")


def next_key_path(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def retired_key_path(path: Path, key_id: str) -> Path:
    return path.with_name(f"{path.name}.retired-{key_id}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path: Path, key: bytes) -> None:
    """Create ``path`` (0600, must not exist) holding ``key``, and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_key(key) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def write_key_atomically(path: Path, key: bytes) -> None:
    """Put ``key`` at ``path`` (replacing it): temp file 0600, fsync, rename, fsync the folder."""
    temp = path.with_name(f"{path.name}.tmp-{secrets.token_hex(4)}")
    _write_new(temp, key)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def keep_retired_key(path: Path, key: bytes) -> None:
    """Write ``key`` to ``path`` (0600) unless that file already holds it."""
    try:
        _write_new(path, key)
    except FileExistsError:
        if read_key_file(path) != key:
            raise SetupError(f"{path} exists and holds another key: move it away first") from None
    fsync_dir(path.parent)


def uses_environment(settings: Settings) -> bool:
    """True if the master key comes from PEERDOOR_MASTER_KEY rather than the key file."""
    return settings.master_key is not None and bool(settings.master_key.get_secret_value().strip())


def load_master_key(settings: Settings) -> bytes:
    if settings.master_key is not None and uses_environment(settings):
        return decode_key(settings.master_key.get_secret_value(), "PEERDOOR_MASTER_KEY")
    path = settings.key_file
    if not path.exists():
        raise SetupError(
            f"no master key: {path} does not exist. Run `peerdoor init` to create one, "
            "or set PEERDOOR_MASTER_KEY (or PEERDOOR_KEY_FILE to where your key is)"
        )
    return read_key_file(path)


def read_key_file(path: Path) -> bytes:
    """The key in ``path``; refused if the file can be read by others."""
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise SetupError(
            f"the key file {path} cannot be read ({exc.strerror}): fix its owner"
        ) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SetupError(f"the key file {path} can be read by other users: run `chmod 600 {path}`")
    return decode_key(text, f"the key file {path}")
