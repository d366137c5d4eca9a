"""The master key: from PEERDOOR_MASTER_KEY or the key file that `peerdoor init` writes."""

from __future__ import annotations

import base64
import binascii
import os
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


def load_master_key(settings: Settings) -> bytes:
    if settings.master_key is not None and settings.master_key.get_secret_value().strip():
        return decode_key(settings.master_key.get_secret_value(), "PEERDOOR_MASTER_KEY")
    path = settings.key_file
    if not path.exists():
        raise SetupError(
            f"no master key: {path} does not exist. Run `peerdoor init` to create one, "
            "or set PEERDOOR_MASTER_KEY (or PEERDOOR_KEY_FILE to where your key is)"
        )
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
