"""The delivery port over python-telegram-bot: sends prompts with PTB and turns Telegram's
errors into delivery's own (bot.delivery.port), so nothing outside this adapter knows PTB."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.delivery.port import Blocked, Document, Rejected, RetryLater, Unreachable
from bot.telegram.calls import api
from bot.telegram.replies import send_document, send_prompt
from conversations.prompts import Prompt


class TelegramMessenger:
    """``bot.delivery.port.Messenger`` for one PTB Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = api(bot)

    async def send(
        self,
        chat_id: int,
        prompt: Prompt,
        *,
        protect: bool = False,
        silent: bool = False,
        document: Document | None = None,
    ) -> int:
        with translated_errors():
            if document is None:
                return await send_prompt(self.bot, chat_id, prompt, protect, silent=silent)
            return await send_document(
                self.bot,
                chat_id,
                InputFile(document.data, filename=document.filename),
                prompt.text,
                html=True,
                buttons=prompt.buttons,
                protect=protect,
                silent=silent,
            )


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """PTB's errors as delivery's. Order matters: BadRequest and TimedOut are NetworkErrors.
    Anything else (a Conflict, an invalid token) goes up unchanged."""
    try:
        yield
    except RetryAfter as exc:
        raise RetryLater(_seconds(exc.retry_after)) from exc
    except Forbidden as exc:
        raise Blocked() from exc
    except BadRequest as exc:
        raise Rejected(_short(exc)) from exc
    except TimedOut as exc:
        raise Unreachable(type(exc).__name__.lower(), timed_out=True) from exc
    except NetworkError as exc:
        raise Unreachable(type(exc).__name__.lower()) from exc


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]


def _short(exc: Exception) -> str:
    """Telegram's error text names the problem, never message content; keep it brief."""
    return str(exc).split(":")[0][:60]
