"""`peerdoor check-config`, beyond the config file: the environment the bot would start in.

Read-only: nothing is created or changed, no secret is printed. Anything that is set but wrong
raises SetupError (one line, exit status 2), the same one `peerdoor run` would stop with. Without
``--webhook``, a token or key that is not there yet is only noted (a fresh checkout has neither);
but a key file the operator named (PEERDOOR_KEY_FILE), or any key once a token is set (then
`peerdoor start` runs the bot), must be there. With ``--webhook`` (production) every setting the
bot needs must be present.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.errors import SetupError
from bot.ops.keys import load_master_key, next_key_path, read_key_file, uses_environment
from bot.settings import Settings, require_token, webhook_settings
from storage.backup import master_key_id, needs_keystore
from storage.crypto import key_id_of
from storage.inspect import health
from storage.keystore import keystore_path


def check_environment(settings: Settings, webhook: bool) -> list[str]:
    """One line per thing checked; raises SetupError at the first problem."""
    return [
        _token(settings, webhook),
        _master_key(settings, webhook or _key_expected(settings)),
        _keystore(settings),
        *_delivery_and_erasure(settings),
        _data_dir(settings),
        *([_webhook(settings)] if webhook else []),
    ]


def _token(settings: Settings, required: bool) -> str:
    token = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    if not token and not required:
        return "telegram token: not set yet (peerdoor run needs PEERDOOR_TELEGRAM_TOKEN)"
    require_token(settings)  # a missing or malformed one: raises, saying how to fix it
    return "telegram token: set, looks like a bot token"


def _key_expected(settings: Settings) -> bool:
    """Whether `run` (or `start`) would need the key now: its file was named, or a token is set."""
    token = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    return "key_file" in settings.model_fields_set or bool(token)


def _master_key(settings: Settings, required: bool) -> str:
    env = uses_environment(settings)
    if not env and not settings.key_file.exists():
        if required:
            load_master_key(settings)  # raises, saying what to do
        return f"master key: none yet ({settings.key_file}; `peerdoor init` creates one)"
    key = load_master_key(settings)
    source = (
        "PEERDOOR_MASTER_KEY (environment or secrets folder)"
        if env
        else f"the key file {settings.key_file} (mode 0600)"
    )
    database = settings.database
    if not database.exists():
        return f"master key: {source}, valid"
    wrapped = master_key_id(database)
    if wrapped is None or wrapped == key_id_of(key):
        return f"master key: {source}, valid, matches {database}"
    upcoming = next_key_path(settings.key_file)
    if not env and upcoming.exists() and key_id_of(read_key_file(upcoming)) == wrapped:
        return f"master key: {source}; an interrupted rotation will be finished at start"
    raise SetupError(
        f"the master key does not match the database {database}: use its current key (after "
        "`peerdoor rotate-key`, the new one; a .retired-* key opens only older backups)"
    )


def _keystore(settings: Settings) -> str:
    database, path = settings.database, keystore_path(settings.database)
    if path.exists():
        return f"erasure key store: {path} (back it up apart from the data, latest copy only)"
    if database.exists() and needs_keystore(database):
        raise SetupError(
            f"the erasure key store {path} is missing, but the database {database} has people "
            "whose keys need it: put the latest backup of that file back beside the database "
            "(a new one would leave them unreadable)"
        )
    return f"erasure key store: none yet, {path} will be created at start"


def _delivery_and_erasure(settings: Settings) -> list[str]:
    """What waits in the outbox, what was parked, and leftovers of people erased before a
    restore. Reported, never refused: the bot handles both."""
    found = health(settings.database, keystore_path(settings.database))
    if found is None:
        return []
    lines = [f"outbox: {found.waiting} waiting to be sent, {found.parked} parked"]
    if found.parked:
        lines[0] += (
            " (failed inside the bot on every try and set aside: see delivery.parked in the "
            "log; they are not sent again)"
        )
    if found.leftovers:
        lines.append(
            f"erasure: {found.leftovers} people deleted before a restore are back in the "
            "database with nothing to open them: the next start or `peerdoor purge` removes them"
        )
    return lines


def _data_dir(settings: Settings) -> str:
    path = settings.data_dir
    fix = "create it with write access for this user, or set PEERDOOR_DATA_DIR to one that can"
    if path.exists():
        if not path.is_dir():
            raise SetupError(f"the data directory {path} is not a directory: {fix}")
        if not os.access(path, os.W_OK | os.X_OK):
            raise SetupError(f"the data directory {path} cannot be written: {fix}")
        return f"data directory: {path}, writable"
    parent = _existing_parent(path)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise SetupError(f"the data directory {path} cannot be created in {parent}: {fix}")
    return f"data directory: {path}, will be created at start"


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _webhook(settings: Settings) -> str:
    hook = webhook_settings(settings)
    return (
        f"webhook: Telegram posts to {hook.url}; the bot listens on {hook.host}:{hook.port} "
        f"(path {hook.path}, health check /healthz); secret token set"
    )
