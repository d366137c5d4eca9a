"""Reading and changing a person's preferences inside a unit of work."""

from __future__ import annotations

from datetime import datetime

from conversations.preferences import Preferences
from storage import Person, Unit


async def load(uow: Unit, person: Person) -> Preferences:
    return Preferences.from_bytes(await uow.people.settings(person))


async def save(uow: Unit, person: Person, preferences: Preferences, now: datetime) -> None:
    await uow.people.save_settings(person, preferences.to_bytes(), now)
