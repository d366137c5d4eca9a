"""A person's referral form in progress: the "intake" frame of their dialog stack."""

from __future__ import annotations

from datetime import datetime

from storage.dialogs import DialogRepo
from storage.models import Person


class DraftRepo:
    def __init__(self, dialogs: DialogRepo) -> None:
        self._dialogs = dialogs

    async def load(self, person: Person) -> bytes | None:
        return await self._dialogs.frame(person, "intake")

    async def save(
        self,
        person: Person,
        state: bytes,
        now: datetime,
        programme_id: str | None = None,
        screen: int | None = None,
    ) -> None:
        """Store the state. ``programme_id`` (optional) is kept as a keyed tag for retention.
        ``screen``: the form shows a new screen of that number (the person's one counter)."""
        await self._dialogs.put(person, "intake", state, now, programme_id, screen=screen)

    async def delete(self, person: Person) -> None:
        await self._dialogs.end(person, "intake")
