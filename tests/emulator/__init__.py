"""The Bot API emulator ships with the bot now (`bot.sandbox.emulator`); tests import it here.

`tests.emulator` re-exports its names, and `tests.emulator.<module>` (for example
`tests.emulator.scripting` or `tests.emulator.errors`) is the same module object as
`bot.sandbox.emulator.<module>`.
"""

import importlib
import pkgutil
import sys

from bot.sandbox import emulator as _emulator
from bot.sandbox.emulator import *  # noqa: F403

for _info in pkgutil.iter_modules(_emulator.__path__):
    _module = importlib.import_module(f"{_emulator.__name__}.{_info.name}")
    sys.modules[f"{__name__}.{_info.name}"] = _module
    globals()[_info.name] = _module
