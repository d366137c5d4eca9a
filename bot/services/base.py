"""What every flow after the intake holds: the store, the service's config, the texts, the
clock, and a way to wake the delivery worker once a unit of work queued something."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from conversations.forms import ServiceConfig
from conversations.i18n import Catalog
from storage import Store


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
