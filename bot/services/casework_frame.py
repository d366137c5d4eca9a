"""The coordinator's case-work dialog's frame: stored after each step, with the number of the
screen it shows (conversations/dialogs.py), for casework.py and matchmaking.py alike."""

from __future__ import annotations

from datetime import datetime

from conversations import coordinating
from storage import Person, Unit


async def next_screen(uow: Unit, person: Person) -> int:
    """The number the coordinator's next screen takes (its buttons are made with it)."""
    return (await uow.dialogs.load(person)).next_screen


async def keep(uow: Unit, person: Person, outcome: coordinating.Outcome, now: datetime) -> None:
    """Store the dialog's new state, or end its frame. A screen of it shown with buttons takes
    the number they were made with (the person's next one), so every older one is stale."""
    shown = [*outcome.prompts, *([outcome.replace] if outcome.replace else [])]
    if outcome.state is not None and any(p.buttons for p in shown):
        screen = await next_screen(uow, person)
        await uow.dialogs.put(person, "casework", outcome.state.to_bytes(), now, screen=screen)
    elif not outcome.changed:
        return
    elif outcome.state is None:
        await uow.dialogs.end(person, "casework")
    else:
        await uow.dialogs.put(person, "casework", outcome.state.to_bytes(), now)
