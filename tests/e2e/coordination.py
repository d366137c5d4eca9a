"""A service with coordinators: the example config plus a group and coordinator ids."""

from __future__ import annotations

from pathlib import Path

from sandbox.emulator import BotApiEmulator, ScriptedGroup, ScriptedUser, StoredMessage
from tests.e2e.harness import EXAMPLE_CONFIG, HIV_PLAN, REFERENCE, consent, fill_form

GROUP_ID = -1009990001
DIABETES_GROUP_ID = -1009990002
CORA, COLE, DIANA = 7001, 7002, 7101  # two HIV coordinators, one diabetes coordinator


def write_config(folder: Path, **service_levels: float) -> Path:
    """The shipped example, with coordinators and groups filled in."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text.replace("coordinators = []", f"coordinators = [{CORA}, {COLE}]", 1)
    text = text.replace("# coordinator_chat = -1001234567890", f"coordinator_chat = {GROUP_ID}", 1)
    text = text.replace(
        "coordinators = []",
        f"coordinators = [{DIANA}]\ncoordinator_chat = {DIABETES_GROUP_ID}",
        1,
    )
    for key, value in service_levels.items():
        text = text.replace(f"\n{key} = ", f"\n{key} = {value}\n# was: ", 1)
    path = folder / "peerdoor.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def refer(
    person: ScriptedUser,
    programme_plan: dict[str, object] | None = None,
    files_config: object = None,
) -> str:
    """A person completes the HIV form and sends it; returns the reference."""
    from conversations.forms import ServiceConfig

    assert isinstance(files_config, ServiceConfig)
    programme = files_config.programme("hiv")
    assert programme is not None
    await consent(person)
    await fill_form(person, programme, programme_plan or HIV_PLAN)
    await person.press("Send my form")
    sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    match = REFERENCE.search(sent.text)
    assert match is not None
    return match.group(0)


async def group_notice(group: ScriptedGroup, reference: str, timeout: float = 10) -> None:
    await group.wait_for(
        lambda m: reference in m.text and "Claim" in m.button_texts, timeout=timeout
    )


async def hand_over(
    coordinator: ScriptedUser,
    supporter: ScriptedUser,
    emulator: BotApiEmulator,
    screen: StoredMessage,
    name: str = "Sam",
) -> StoredMessage:
    """Match on ``screen``, the first suggestion (``name``), what is ticked by default, Send:
    returns the hand-over the supporter receives."""
    await coordinator.press("Match", message=screen)
    offer = await coordinator.wait_for(lambda m: "best fit first" in m.text)
    await coordinator.press(f"1. {name}", message=offer)
    await emulator.wait_until(lambda: f"Send to {name}" in offer.button_texts, what="share")
    await coordinator.press(f"Send to {name}", message=offer)
    return await supporter.wait_for(lambda m: "can you support this person" in m.text)


async def offer_group_and_join(
    emulator: BotApiEmulator,
    group: ScriptedGroup,
    person: ScriptedUser,
    reference: str,
    group_name: str,
    shown_as: str,
    invitation: str = "There is a place for you",
    *,
    remind: bool = True,
) -> None:
    """Cora claims the referral from the group notice, marks it contacted and offers the peer
    support group `group_name`; the person joins, chooses how facilitators see them
    (`shown_as`: the button's label) and, with `remind`, asks for reminders."""
    await group_notice(group, reference)
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Contacted", message=details)
    await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: "Offer a group" in m.button_texts)
    await cora.press("Offer a group", message=view)
    ranked = await cora.wait_for(lambda m: "best fit first" in m.text)
    await cora.press(group_name, message=ranked, contains=True)
    invited = await person.wait_for(lambda m: invitation in (m.text or ""))
    await person.press("Join", message=invited)
    shown = await person.wait_for(lambda m: "How should the people" in (m.text or ""))
    await person.press(shown_as, message=shown)
    if remind:
        asked = await person.wait_for(lambda m: "reminder before each meeting" in (m.text or ""))
        await person.press("Yes, remind me", message=asked)
        await emulator.wait_until(lambda: asked.text.startswith("Good."), what="reminders on")
