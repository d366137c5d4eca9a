"""Logging that carries event names and reference codes, never what a person said."""

from __future__ import annotations

import logging
import re
import sys

_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactTokens(logging.Filter):
    """Bot tokens can appear in library exception texts and URLs: blank them out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg, record.args = _TOKEN.sub("<token>", message), None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL (which holds the token) at INFO; PTB logs update bodies at
    # DEBUG. Neither may reach the log. aiohttp (the webhook server) stays quiet too.
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
