"""Logging that carries event names and reference codes, never what a person said."""

from __future__ import annotations

import logging
import re
import sys

_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
#: What could start a new line, move the cursor or hide text in a log viewer: C0 and C1
#: controls, DEL, and Unicode's line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Libraries that log what the bot stores or sends: kept at WARNING whatever the level. httpx
#: logs every request URL (which holds the token) at INFO; PTB logs update bodies at DEBUG;
#: aiosqlite logs every statement with its parameters (ciphertexts, wrapped keys, lookup codes,
#: references) at DEBUG. aiohttp (the webhook server) and APScheduler stay quiet too.
QUIET = ("httpx", "httpcore", "telegram", "apscheduler", "aiohttp", "aiosqlite")


def one_line(text: str) -> str:
    """``text`` with control characters written as escapes (a newline becomes ``\\n``)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class RedactTokens(logging.Filter):
    """Bot tokens can appear in library exception texts and URLs: blank them out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg, record.args = _TOKEN.sub("<token>", message), None
        return True


class OneLine(logging.Filter):
    """One record, one line: a value from outside (callback data, a library's error text) that
    holds a newline cannot write a line of its own into the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _CONTROL.search(message):
            record.msg, record.args = one_line(message), None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(RedactTokens())
    handler.addFilter(OneLine())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
