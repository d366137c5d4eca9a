"""Encrypted persistence for peerdoor: SQLite via aiosqlite, envelope encryption per person.

Everything about a person is sealed under their own random data key, which is stored only
wrapped under the master key (never in the database). Lookups use keyed HMACs. Erasing a person
deletes their rows and their wrapped key from the live database (secure_delete, WAL truncated).

Backups: a copy of the database taken before an erasure still holds that person's wrapped key,
so with the master key it still decrypts. It becomes unreadable only when the master key is
rotated (``Store.rotate`` under ``KeyRing(new, retired=[old])``; ``peerdoor rotate-key``) and the
old master key is destroyed, or if backups are kept without the ``person_keys`` table. Tested in
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
from storage.errors import MasterKeyChanged, StorageError, UnreadableRecord, WrongMasterKey
from storage.keys import UnknownPerson
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
from storage.retention import Purged
from storage.store import Store, Unit

__all__ = [
    "AuditEntry",
    "AuditReport",
    "AuditTampered",
    "Engagement",
    "KeyRing",
    "MasterKeyChanged",
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
    "WrongMasterKey",
    "pad",
    "unpad",
]
