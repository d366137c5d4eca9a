"""Exceptions raised by storage."""


class StorageError(Exception):
    """The database could not do what was asked (locked, full disk, corrupt, ...)."""


class WrongMasterKey(StorageError):
    """The master key given does not match the one the database was created with."""


class UnreadableRecord(StorageError):
    """A sealed value failed to authenticate: altered, moved to another row, or its key erased."""


class MasterKeyChanged(StorageError):
    """Another process re-wrapped the database under a master key this store does not hold."""


class KeyStoreMissing(StorageError):
    """The erasure key store is missing while the database has people whose keys need it."""


class WrongKeyStore(StorageError):
    """The erasure key store belongs to another database."""
