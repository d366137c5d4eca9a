"""What a member of staff is in the middle of (a note, a message, a meeting being planned, a
profile field): the "staff" frame of their dialog stack."""

from __future__ import annotations

from datetime import datetime

from storage.dialogs import DialogRepo
from storage.models import Person


class StaffStateRepo:
    def __init__(self, dialogs: DialogRepo) -> None:
        self._dialogs = dialogs

    async def load(self, person: Person) -> bytes | None:
        return await self._dialogs.frame(person, "staff")

    async def save(self, person: Person, state: bytes, now: datetime) -> None:
        await self._dialogs.put(person, "staff", state, now)

    async def clear(self, person: Person) -> None:
        await self._dialogs.end(person, "staff")
