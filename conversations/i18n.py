"""Translations of the bot's own texts. Catalogs are loaded by the bot and handed in here."""

from __future__ import annotations

from collections.abc import Callable, Mapping

Translate = Callable[[str], str]

#: Shown on the language buttons, each in its own language.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "sv": "Svenska"}
SOURCE_LANGUAGE = "en"


class Catalog:
    """Message catalogs: language -> {English source text -> translation}."""

    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        self._messages = {lang: dict(table) for lang, table in messages.items()}
        self._messages.setdefault(SOURCE_LANGUAGE, {})

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._messages, key=lambda code: (code != SOURCE_LANGUAGE, code)))

    def translator(self, language: str) -> Translate:
        table = self._messages.get(language, {})
        return lambda msgid: table.get(msgid) or msgid

    def best_language(self, telegram_code: str | None, offered: list[str]) -> str:
        """Pick the person's Telegram language when the programme offers it, else the first."""
        if telegram_code:
            base = telegram_code.split("-")[0].lower()
            if base in offered and base in self._messages:
                return base
        return offered[0]
