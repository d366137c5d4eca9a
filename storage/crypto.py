"""Key ring, envelope encryption, padding and keyed lookups.

Layout of the keys:

- master key: 32 random bytes from the caller, never stored. Two things are derived from it with
  HKDF-SHA256: a public ``key_id`` (to know which master key wrapped what) and a wrapping key.
- data keys (key version 2): HKDF-SHA256 over two random 32-byte halves per person. One is stored
  only wrapped (AES-GCM under the wrapping key, with the owner's id as associated data so wrapped
  keys cannot be swapped between people), the other in the erasure key store, a separate file
  that database backups do not carry (storage/keystore.py). Deleting that half at erasure makes
  the person's data unreadable in every copy of the database. People stored before the key store
  existed keep key version 1: the wrapped key is the data key itself.
- lookup secret: 32 random bytes created with the database, stored wrapped like a data key. Keyed
  lookup tags (telegram id, programme id) are HMAC-SHA256 under sub-keys derived from it, one per
  purpose. It is random rather than derived from the master key so tags survive key rotation.
  Telegram-id tags are stored in the erasure key store, not the database, so that erasure
  deletes them from every copy (storage/people.py).

A sealed value is ``nonce (12 bytes) || AES-GCM ciphertext+tag`` of the padded plaintext, with
associated data naming table, column, row, person and data-key version.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.errors import UnreadableRecord, WrongMasterKey

KEY_BYTES = 32
NONCE_BYTES = 12
_LENGTH_PREFIX = 4
_MIN_BUCKET = 64
_PAGE = 4096
_HKDF_SALT = b"peerdoor storage v1"


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_HKDF_SALT, info=info).derive(
        key
    )


def derive_key(secret: bytes, purpose: bytes) -> bytes:
    """A 32-byte sub-key of ``secret`` for one purpose only (HKDF-SHA256)."""
    return _hkdf(secret, purpose)


def _check_key(key: bytes, what: str) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"{what} must be exactly {KEY_BYTES} bytes")


def combine_keys(wrapped_half: bytes, erasure_half: bytes, context: bytes) -> bytes:
    """A data key that exists only while both halves do (HKDF-SHA256 over their concatenation)."""
    _check_key(wrapped_half, "wrapped half of a data key")
    _check_key(erasure_half, "erasure half of a data key")
    return _hkdf(wrapped_half + erasure_half, b"data-key|" + context)


def key_id_of(master_key: bytes) -> str:
    """A short, non-secret name for a master key (HKDF output, not the key itself)."""
    return _hkdf(master_key, b"key-id").hex()[:16]


class KeyRing:
    """The current master key, plus retired ones that may still unwrap (during rotation)."""

    def __init__(self, master_key: bytes, retired: Sequence[bytes] = ()) -> None:
        _check_key(master_key, "master key")
        for old in retired:
            _check_key(old, "retired master key")
        self.key_id: str = key_id_of(master_key)
        self._wrapping: dict[str, AESGCM] = {}
        for key in (*retired, master_key):
            self._wrapping[key_id_of(key)] = AESGCM(_hkdf(key, b"wrap"))

    def __repr__(self) -> str:
        return f"KeyRing(key_id={self.key_id!r}, known={sorted(self._wrapping)!r})"

    @staticmethod
    def generate() -> bytes:
        """A new random master key."""
        return secrets.token_bytes(KEY_BYTES)

    def knows(self, key_id: str) -> bool:
        return key_id in self._wrapping

    def wrap(self, key: bytes, context: bytes) -> tuple[str, bytes]:
        """Wrap ``key`` under the current master key; returns (key_id, wrapped)."""
        _check_key(key, "key to wrap")
        nonce = secrets.token_bytes(NONCE_BYTES)
        wrapped = nonce + self._wrapping[self.key_id].encrypt(nonce, key, b"wrap|" + context)
        return self.key_id, wrapped

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        """Unwrap a key wrapped by ``wrap``; WrongMasterKey if this ring cannot."""
        aead = self._wrapping.get(key_id)
        if aead is None:
            raise WrongMasterKey(
                f"this data was wrapped by master key {key_id!r}; the key ring only knows "
                f"{sorted(self._wrapping)!r}"
            )
        try:
            return aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], b"wrap|" + context)
        except InvalidTag:
            raise WrongMasterKey(
                f"a key wrapped under master key {key_id!r} failed to unwrap"
            ) from None


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def bucket_size(n: int) -> int:
    """Padded size for ``n`` bytes: max(64, next power of two) up to 4096, then 4096-multiples."""
    if n <= _MIN_BUCKET:
        return _MIN_BUCKET
    if n <= _PAGE:
        return 1 << (n - 1).bit_length()
    return -(-n // _PAGE) * _PAGE


def pad(plaintext: bytes) -> bytes:
    """4-byte big-endian length prefix, the plaintext, zeros up to the bucket size."""
    framed = len(plaintext).to_bytes(_LENGTH_PREFIX, "big") + plaintext
    return framed + bytes(bucket_size(len(framed)) - len(framed))


def unpad(padded: bytes) -> bytes:
    if len(padded) < _LENGTH_PREFIX:
        raise ValueError("padded value too short")
    n = int.from_bytes(padded[:_LENGTH_PREFIX], "big")
    end = _LENGTH_PREFIX + n
    if end > len(padded) or any(padded[end:]):
        raise ValueError("malformed padding")
    return padded[_LENGTH_PREFIX:end]


def associated_data(table: str, column: str, row_id: str, person_id: str, version: int) -> bytes:
    """Unambiguous encoding of where a sealed value belongs."""
    parts = [b"peerdoor-seal-v1", *(s.encode() for s in (table, column, row_id, person_id))]
    parts.append(str(version).encode())
    return b"".join(len(p).to_bytes(2, "big") + p for p in parts)


def seal(aead: AESGCM, plaintext: bytes, ad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, pad(plaintext), ad)


def unseal(aead: AESGCM, sealed: bytes, ad: bytes) -> bytes:
    try:
        return unpad(aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], ad))
    except (InvalidTag, ValueError):
        raise UnreadableRecord(
            "a sealed value failed to open (altered, moved to another row, or key erased)"
        ) from None


class LookupKeys:
    """Keyed, purpose-separated tags for equality lookups (blind indexes)."""

    def __init__(self, secret: bytes) -> None:
        _check_key(secret, "lookup secret")
        self._telegram = _hkdf(secret, b"lookup|telegram-user-id")
        self._programme = _hkdf(secret, b"lookup|programme-id")
        self._invite = _hkdf(secret, b"lookup|invite-code")
        self._source = _hkdf(secret, b"lookup|referral-source")
        self._group = _hkdf(secret, b"lookup|config-group")

    def telegram(self, telegram_id: int) -> bytes:
        return hmac.new(self._telegram, str(telegram_id).encode(), hashlib.sha256).digest()

    def programme(self, programme_id: str) -> bytes:
        return hmac.new(self._programme, programme_id.encode(), hashlib.sha256).digest()

    def invite(self, normalised_code: str) -> bytes:
        return hmac.new(self._invite, normalised_code.encode(), hashlib.sha256).digest()

    def source(self, programme_id: str, source_id: str) -> bytes:
        """A referral's source (which clinic, which group), for counting without opening it."""
        message = len(programme_id).to_bytes(2, "big") + programme_id.encode() + source_id.encode()
        return hmac.new(self._source, message, hashlib.sha256).digest()

    def group(self, programme_id: str, group_id: str) -> bytes:
        """A group the config defines, found again at every start without its id in plain."""
        message = len(programme_id).to_bytes(2, "big") + programme_id.encode() + group_id.encode()
        return hmac.new(self._group, message, hashlib.sha256).digest()
