"""Named random secrets the database needs (lookup, service, audit), stored wrapped.

Each is 32 random bytes wrapped under the master key with ``secrets|<name>`` as context, so
``Store.rotate`` re-wraps them like data keys and everything keyed by them survives a rotation.
All but the lookup secret are created lazily, in the transaction that first needs them: a
transaction that rolls back leaves neither the secret nor anything sealed under it.
"""

from __future__ import annotations

import aiosqlite

from storage.crypto import KeyRing, new_data_key

SERVICE = "service"  # seals outbox payloads that belong to no person
AUDIT = "audit"  # keys the audit trail's hash chain


def context(name: str) -> bytes:
    return f"secrets|{name}".encode()


class Vault:
    """The secrets one unit of work uses. New secrets reach the shared cache only on commit."""

    def __init__(
        self, conn: aiosqlite.Connection, keyring: KeyRing, cache: dict[str, bytes]
    ) -> None:
        self._conn = conn
        self._keyring = keyring
        self._cache = cache
        self._pending: dict[str, bytes] = {}

    async def find(self, name: str) -> bytes | None:
        """The secret, or None if it was never created."""
        known = self._pending.get(name) or self._cache.get(name)
        if known is not None:
            return known
        rows = list(
            await self._conn.execute_fetchall(
                "SELECT key_id, wrapped FROM secrets WHERE name = ?", (name,)
            )
        )
        if not rows:
            return None
        key_id, wrapped = rows[0]
        secret = self._keyring.unwrap(key_id, wrapped, context(name))
        self._pending[name] = secret
        return secret

    async def get(self, name: str) -> bytes:
        """The secret, created (inside the current transaction) if it does not exist yet."""
        found = await self.find(name)
        if found is not None:
            return found
        secret = new_data_key()
        key_id, wrapped = self._keyring.wrap(secret, context(name))
        await self._conn.execute(
            "INSERT INTO secrets (name, key_id, wrapped) VALUES (?, ?, ?)",
            (name, key_id, wrapped),
        )
        self._pending[name] = secret
        return secret

    def committed(self) -> None:
        self._cache.update(self._pending)
        self._pending.clear()
