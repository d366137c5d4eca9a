"""A coordinator's case-work choices are a dialog on the engine's buttons: a press counts only on
the screen the dialog shows now, so a choice left on the screen of one referral can never act
once the coordinator has moved on — to the next step, to another referral, or after the frame
ended. Buttons from before the format (``r:...``) keep their old checks. Through the use case,
on the real store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config_file import load_config
from bot.i18n import load_catalog
from bot.services.casework import Actor, CaseworkFlow
from bot.services.reply import Reply
from conversations import callbacks, engine
from conversations.prompts import Prompt
from storage import KeyRing, Store
from tests.e2e.harness import EXAMPLE_CONFIG

CORA, MALLORY, ADA, BEN = 301, 302, 303, 304
NOW = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
cora, mallory = Actor(CORA, "Cora", "en", True), Actor(MALLORY, "Mallory", "en", True)


async def setup(tmp_path: Path) -> tuple[Store, CaseworkFlow, str, str]:
    """Cora coordinates "hiv" and holds two referrals; Mallory holds no role."""
    store = await Store.open(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate()))
    flow = CaseworkFlow(store, load_config(EXAMPLE_CONFIG), load_catalog(), lambda: NOW)
    refs = []
    async with store.unit() as uow:
        coordinator = await uow.people.create(CORA, NOW)
        assert await uow.roles.grant(coordinator, "coordinator", "hiv", NOW)
        await uow.people.create(MALLORY, NOW)
        for who in (ADA, BEN):
            referral = await uow.referrals.create(
                await uow.people.create(who, NOW), "hiv", b"{}", False, NOW
            )
            assert await uow.referrals.claim(referral, coordinator, NOW)
            refs.append(referral.reference)
    return store, flow, refs[0], refs[1]


def data(prompt: Prompt | None, label: str) -> str:
    assert prompt is not None
    found = [b.data for row in prompt.buttons for b in row if label in b.label]
    assert found, f"no button {label!r} in {[b.label for row in prompt.buttons for b in row]}"
    return found[0]


async def press(flow: CaseworkFlow, who: Actor, raw: str) -> Reply:
    found = callbacks.parse(raw)
    assert isinstance(found, callbacks.CasePress), raw
    return await flow.press(who, found)


def expired(reply: Reply) -> bool:
    return reply.notice is not None and "expired" in reply.notice and not reply.prompts


async def status(store: Store, reference: str) -> str:
    async with store.unit() as uow:
        referral = await uow.referrals.by_reference(reference)
        assert referral is not None
        return referral.status


async def test_a_deferrals_screen_left_for_another_referral_never_sends(tmp_path: Path) -> None:
    store, flow, ada, ben = await setup(tmp_path)
    try:
        asked = (await press(flow, cora, callbacks.case("defer", ada))).prompts[0]
        send = data(asked, "Send and defer")
        found = engine.parse(send)
        assert found is not None and (found.dialog, found.version) == ("casework", 2)
        assert found.arg == ada
        # Cora moves on to a note about Ben: the deferral's screen is an older one now.
        note = await press(flow, cora, callbacks.case("note", ben))
        assert "Type the note" in note.prompts[0].text
        assert expired(await press(flow, cora, send))
        assert expired(await press(flow, cora, data(asked, "☐")))
        assert await status(store, ada) == "claimed"  # not deferred
        # The note screen's Cancel is the one that works now.
        cancelled = await press(flow, cora, data(note.prompts[0], "Cancel"))
        assert not expired(cancelled)
        assert expired(await press(flow, cora, data(note.prompts[0], "Cancel")))  # ended
    finally:
        await store.close()


async def test_each_tick_shows_a_new_screen_and_only_it_counts(tmp_path: Path) -> None:
    store, flow, ada, _ben = await setup(tmp_path)
    try:
        asked = (await press(flow, cora, callbacks.case("defer", ada))).prompts[0]
        ticked = await press(flow, cora, data(asked, "☐"))
        assert ticked.replace is not None and "☑" in ticked.replace.text + "".join(
            b.label for row in ticked.replace.buttons for b in row
        )
        assert expired(await press(flow, cora, data(asked, "☐")))  # a second tap, old screen
        sent = await press(flow, cora, data(ticked.replace, "Send and defer"))
        assert not expired(sent) and await status(store, ada) == "deferred"
    finally:
        await store.close()


async def test_old_r_buttons_keep_their_own_checks(tmp_path: Path) -> None:
    store, flow, ada, ben = await setup(tmp_path)
    try:
        await press(flow, cora, callbacks.case("defer", ada))
        ticked = await press(flow, cora, "r:res:" + ada + ":0")  # version 1: no screen number
        assert ticked.replace is not None
        assert expired(await press(flow, cora, "r:res:" + ben + ":0"))  # not Ben's deferral
        sent = await press(flow, cora, "r:deferok:" + ada)
        assert not expired(sent) and await status(store, ada) == "deferred"
    finally:
        await store.close()


async def test_a_press_without_the_role_is_refused_and_audited_once(tmp_path: Path) -> None:
    store, flow, ada, _ben = await setup(tmp_path)
    try:
        asked = (await press(flow, cora, callbacks.case("defer", ada))).prompts[0]
        refused = await press(flow, mallory, data(asked, "Send and defer"))
        assert refused.notice is not None and not expired(refused)
        async with store.unit() as uow:
            actions = [e.action for e in await uow.audit.entries()]
        assert actions.count("refused:deferok") == 1
        assert await status(store, ada) == "claimed"
        # Cora's screen is untouched by it.
        assert not expired(await press(flow, cora, data(asked, "Send and defer")))
        assert await status(store, ada) == "deferred"
    finally:
        await store.close()
