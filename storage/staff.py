"""What a member of staff is in the middle of: the frames of their dialog stack for a
coordinator's case work, a meeting being planned, a profile field being typed and a note on
a volunteer (conversations/dialogs.py `STAFF`; one at a time). The flows read and write their
own frame through `uow.dialogs`; this is the view of all of them at once, for erasure and
revocation."""

from __future__ import annotations

from datetime import datetime

from conversations.dialogs import STAFF
from storage.dialogs import DialogRepo
from storage.models import Person


class StaffStateRepo:
    def __init__(self, dialogs: DialogRepo) -> None:
        self._dialogs = dialogs

    async def load(self, person: Person) -> bytes | None:
        """The data of the staff frame the person is in, if any."""
        for dialog in STAFF:
            found = await self._dialogs.frame(person, dialog)
            if found is not None:
                return found
        return None

    async def save(self, person: Person, state: bytes, now: datetime) -> None:
        """A coordinator's case work (a note, a message, resources, a match being chosen)."""
        await self._dialogs.put(person, "casework", state, now)

    async def clear(self, person: Person) -> None:
        """End whatever the member of staff was in the middle of."""
        for dialog in STAFF:
            await self._dialogs.end(person, dialog)
