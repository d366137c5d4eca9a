"""Reading the service's TOML config, with errors that name the file, the line and the field."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from bot.errors import SetupError
from conversations.forms import ServiceConfig, error_path


def load_config(path: Path) -> ServiceConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SetupError(
            f"config file {path} not found: run `peerdoor init` to write an example, "
            "or set PEERDOOR_CONFIG to your config file"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"config file {path} cannot be read as UTF-8 text: {exc}") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SetupError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return ServiceConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        line = find_line(text, loc)
        where = f"{path}, line {line}" if line else str(path)
        field = error_path(loc) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = error["msg"].removeprefix("Value error, ")
        raise SetupError(f"{where}: {field}: {message}{more}") from exc


_TABLE = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.]+)\s*\]\]\s*(#.*)?$")


def find_line(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best effort: the line that an error location such as programmes[0].form[3].kind names."""
    lines = text.splitlines()
    table, start, found = "", 0, None
    parts = list(loc)
    while parts:
        part = str(parts.pop(0))
        if parts and isinstance(parts[0], int):
            table = f"{table}.{part}" if table else part
            row = _nth_table(lines, table, parts.pop(0), start)
            if row is None:
                break
            found, start = row, row + 1
            continue
        subtable = re.escape(f"{table}.{part}" if table else part)
        key = re.compile(rf"^\s*({re.escape(part)}\s*[.=]|\[\s*{subtable}\s*\])")
        for number in range(start, len(lines)):
            if _TABLE.match(lines[number]):
                break
            if key.match(lines[number]):
                return number + 1
        break
    return found + 1 if found is not None else None


def _nth_table(lines: list[str], table: str, index: int | str, start: int) -> int | None:
    count = -1
    for number in range(start, len(lines)):
        match = _TABLE.match(lines[number])
        if match is None:
            continue
        name = match.group(1)
        if name == table:
            count += 1
            if count == index:
                return number
        elif table.startswith(name + "."):
            return None  # a new parent entry begins: the one we want is not in this parent
    return None
