"""What every flow after the intake holds: the store, the service's config, the texts, the
clock, and a way to wake the delivery worker once a unit of work queued something."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.services import preferences
from conversations.forms import ServiceConfig
from conversations.i18n import Catalog, Translate
from storage import Person, Store, Unit


class Speaking(Protocol):
    """Whoever wrote: their Telegram app's language is all a flow reads of them here."""

    @property
    def language_code(self) -> str | None: ...


class ServiceFlow:
    def __init__(
        self,
        store: Store,
        config: ServiceConfig,
        catalog: Catalog,
        clock: Callable[[], datetime],
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.config = config
        self.catalog = catalog
        self.clock = clock
        self.wake = wake

    async def language_for(self, uow: Unit, person: Person | None, who: Speaking) -> str:
        """The language the person chose, else the best match for their Telegram app's."""
        if person is not None:
            chosen = (await preferences.load(uow, person)).language
            if chosen in self.catalog.languages:
                return chosen
        return self.catalog.best_language(who.language_code, list(self.catalog.languages))

    def _t(self, language: str) -> Translate:
        return self.catalog.translator(language)
