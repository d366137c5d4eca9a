"""Per-person data keys: creation, unwrapping, and a small in-memory LRU cache.

Key version 2 (every person created since the erasure key store): the data key is derived from
the half wrapped in ``person_keys`` and the person's secret in the erasure key store
(storage/keystore.py), so it cannot be rebuilt once that secret is destroyed, whatever copy of
the database is at hand. Key version 1 (people stored before): the wrapped key is the data key.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import aiosqlite
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto import KeyRing, associated_data, combine_keys, new_data_key, seal, unseal
from storage.errors import StorageError
from storage.keystore import KeyStore

CACHE_SIZE = 256
LEGACY_VERSION = 1  # the wrapped key is the data key
KEY_VERSION = 2  # the data key needs the wrapped half and the erasure key store's half


class UnknownPerson(StorageError):
    """No data key for this person: they were never stored, or have been erased."""


@dataclass(frozen=True)
class DataKey:
    person_id: str
    version: int
    aead: AESGCM

    def seal(self, table: str, column: str, row_id: str, plaintext: bytes) -> bytes:
        ad = associated_data(table, column, row_id, self.person_id, self.version)
        return seal(self.aead, plaintext, ad)

    def open(self, table: str, column: str, row_id: str, sealed: bytes) -> bytes:
        ad = associated_data(table, column, row_id, self.person_id, self.version)
        return unseal(self.aead, sealed, ad)


def wrap_context(person_id: str, version: int) -> bytes:
    return f"person_keys|{person_id}|{version}".encode()


def data_key_context(person_id: str, version: int) -> bytes:
    return f"{person_id}|{version}".encode()


class KeyCache:
    """Unwrapped data keys of recently seen people, least recently used evicted first."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._keys: OrderedDict[str, DataKey] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._keys

    def get(self, person_id: str) -> DataKey | None:
        key = self._keys.get(person_id)
        if key is not None:
            self._keys.move_to_end(person_id)
        return key

    def put(self, key: DataKey) -> None:
        self._keys[key.person_id] = key
        self._keys.move_to_end(key.person_id)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)

    def evict(self, person_id: str) -> None:
        self._keys.pop(person_id, None)

    def clear(self) -> None:
        self._keys.clear()


class DataKeys:
    """The data keys one unit of work uses. New keys reach the shared cache only on commit."""

    def __init__(
        self, conn: aiosqlite.Connection, keyring: KeyRing, cache: KeyCache, store: KeyStore
    ) -> None:
        self._conn = conn
        self._keyring = keyring
        self._cache = cache
        self._store = store
        self._pending: dict[str, DataKey] = {}
        #: erasure secrets of people created in this unit, for the store to write before commit
        self.fresh: dict[str, bytes] = {}
        #: their Telegram-id lookup tags (person id -> tag), written to the key store with them
        self.lookups: dict[str, bytes] = {}

    async def person_for(self, lookup: bytes) -> str | None:
        """Whose lookup tag this is (in the erasure key store, or created in this unit)."""
        for person_id, tag in self.lookups.items():
            if tag == lookup:
                return person_id
        return await self._store.find(lookup)

    def new(self, person_id: str, lookup: bytes) -> tuple[DataKey, str, bytes]:
        """A fresh key for a new person: (key, key_id, wrapped) for the caller to insert."""
        wrapped_half, erasure_half = new_data_key(), new_data_key()
        raw = combine_keys(wrapped_half, erasure_half, data_key_context(person_id, KEY_VERSION))
        key = DataKey(person_id, KEY_VERSION, AESGCM(raw))
        key_id, wrapped = self._keyring.wrap(wrapped_half, wrap_context(person_id, KEY_VERSION))
        self._pending[person_id] = key
        self.fresh[person_id] = erasure_half
        self.lookups[person_id] = lookup
        return key, key_id, wrapped

    async def from_row(self, person_id: str, version: int, key_id: str, wrapped: bytes) -> DataKey:
        """Use a wrapped key already fetched (e.g. joined into a lookup), via the cache.

        UnknownPerson if the person's erasure secret is gone: they were erased, and these rows
        came back with a database backup restored from before.
        """
        cached = self._cached(person_id)
        if cached is not None and cached.version == version:
            return cached
        if version not in (LEGACY_VERSION, KEY_VERSION):
            raise StorageError(f"unknown data key version {version}: is this code too old?")
        raw = self._keyring.unwrap(key_id, wrapped, wrap_context(person_id, version))
        if version == KEY_VERSION:
            erasure_half = self.fresh.get(person_id) or await self._store.get(person_id)
            if erasure_half is None:
                raise UnknownPerson(
                    "this person's erasure secret is gone (erased; the rows are from a restored "
                    "backup or another key store)"
                )
            raw = combine_keys(raw, erasure_half, data_key_context(person_id, version))
        key = DataKey(person_id, version, AESGCM(raw))
        self._pending[person_id] = key
        return key

    async def get(self, person_id: str) -> DataKey:
        cached = self._cached(person_id)
        if cached is not None:
            return cached
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT version, key_id, wrapped FROM person_keys WHERE person_id = ?",
                (person_id,),
            )
        )
        if not rows:
            raise UnknownPerson("no data key for this person (never stored, or erased)")
        version, key_id, wrapped = rows[0]
        return await self.from_row(person_id, version, key_id, wrapped)

    def forget(self, person_id: str) -> None:
        self._pending.pop(person_id, None)
        self.fresh.pop(person_id, None)
        self.lookups.pop(person_id, None)
        self._cache.evict(person_id)

    def committed(self) -> None:
        for key in self._pending.values():
            self._cache.put(key)
        self._pending.clear()

    def _cached(self, person_id: str) -> DataKey | None:
        return self._pending.get(person_id) or self._cache.get(person_id)
