"""Encrypted persistence for peerdoor: SQLite via aiosqlite, envelope encryption per person."""

from storage.crypto import KeyRing, pad, unpad
from storage.errors import StorageError, UnreadableRecord, WrongMasterKey
from storage.keys import UnknownPerson
from storage.models import Person, Referral
from storage.store import Store, Unit

__all__ = [
    "KeyRing",
    "Person",
    "Referral",
    "StorageError",
    "Store",
    "Unit",
    "UnknownPerson",
    "UnreadableRecord",
    "WrongMasterKey",
    "pad",
    "unpad",
]
