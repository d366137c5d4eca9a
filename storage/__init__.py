"""Encrypted persistence for peerdoor: SQLite via aiosqlite, envelope encryption per person.

Everything about a person is sealed under their own random data key, derived from two random
halves: one stored wrapped under the master key (never in the database) in ``person_keys``, one
in the erasure key store, a small SQLite file beside the database (storage/keystore.py). Lookups
use keyed HMACs; the one for Telegram ids is kept in the key store too (migration 0011).
Erasing a person deletes their rows and wrapped half from the database and their half and
lookup tag from the key store (secure_delete, WALs truncated). An erasure, once its secret is
marked, only goes forward; people the key store no longer knows (erased, their rows back with a
restored backup) are removed by ``Store.remove_leftovers`` (at start-up and by the purge).

Backups: ``peerdoor backup`` copies the database only. A copy taken before an erasure, opened with
the master key and the key store as they are after it, cannot rebuild the erased person's data
key; everyone else's opens (``Store.open(copy, ring, keystore=<the live key store>)``). The key
store is backed up on its own, keeping only the latest copy. People stored before the key store
existed (key version 1) have no second half: a backup stays readable for them until the master
key is rotated (``Store.rotate``; ``peerdoor rotate-key``) and the old one destroyed. Tested in
tests/unit/test_storage_security.py::test_erase_against_a_backup_taken_before. Online copies:
storage/backup.py. Retention (expired drafts and closed referrals): storage/retention.py. Each
unit of work checks which master key the database is under, so an open store never wraps a key
under a master key that another process has rotated away (``Store.reload_keys_with``).

Coordination (migration 0002): referral holders and workflow times, roles and one-time invites
(programme ids and codes only as keyed HMACs), the referral thread (sealed under the referrer's
key), the outbox (sealed under the referral owner's, else the recipient's, else a random service
key), staff state, and a hash-chained audit trail (``Store.verify_audit``; limits in
storage/audit.py). The service and audit secrets live wrapped in ``secrets`` next to the lookup
secret and are re-wrapped by ``Store.rotate``.
"""

from storage.audit import AuditTampered
from storage.crypto import KeyRing, pad, unpad
from storage.errors import (
    KeyStoreMissing,
    MasterKeyChanged,
    StorageError,
    UnreadableRecord,
    WrongKeyStore,
    WrongMasterKey,
)
from storage.keys import UnknownPerson
from storage.keystore import keystore_path
from storage.models import (
    AuditEntry,
    AuditReport,
    Engagement,
    OutboxItem,
    Person,
    Referral,
    Session,
    ThreadEntry,
)
from storage.people import NoTelegram
from storage.referrals import AlreadyLive
from storage.retention import Purged
from storage.store import Store, Unit

__all__ = [
    "AlreadyLive",
    "AuditEntry",
    "AuditReport",
    "AuditTampered",
    "Engagement",
    "KeyRing",
    "KeyStoreMissing",
    "MasterKeyChanged",
    "NoTelegram",
    "OutboxItem",
    "Person",
    "Purged",
    "Referral",
    "Session",
    "StorageError",
    "Store",
    "ThreadEntry",
    "Unit",
    "UnknownPerson",
    "UnreadableRecord",
    "WrongKeyStore",
    "WrongMasterKey",
    "keystore_path",
    "pad",
    "unpad",
]
