"""peerdoor's Telegram-facing application."""

import os

# Opt in to python-telegram-bot's coming behaviour (RetryAfter.retry_after as a timedelta) so
# that reading it raises no deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")
