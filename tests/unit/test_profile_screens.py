"""A supporter's profile screens are a dialog on the engine's buttons: a press counts only on
the screen the profile shows now (the person's one screen counter), the buttons already on
screens before this release (``p:...``) still work, and a frame that only shows a screen never
takes typed text. Through the use case, on the real store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config_file import load_config
from bot.i18n import load_catalog
from bot.services.casework import Actor
from bot.services.reply import Reply
from bot.services.supporting import SupportFlow
from bot.services.typed_route import owner
from conversations import callbacks, engine
from conversations.prompts import Prompt
from storage import KeyRing, Store
from tests.e2e.harness import EXAMPLE_CONFIG

SAM, ROBIN = 201, 202
NOW = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
sam, robin = Actor(SAM, "Sam", "en", True), Actor(ROBIN, "Robin", "en", True)


async def setup(tmp_path: Path) -> tuple[Store, SupportFlow]:
    store = await Store.open(tmp_path / "peerdoor.db", KeyRing(KeyRing.generate()))
    flow = SupportFlow(store, load_config(EXAMPLE_CONFIG), load_catalog(), lambda: NOW)
    async with store.unit() as uow:
        person = await uow.people.create(SAM, NOW)
        assert await uow.roles.grant(person, "supporter", "hiv", NOW)
        await uow.people.create(ROBIN, NOW)
    return store, flow


def data(prompt: Prompt | None, label: str) -> str:
    assert prompt is not None
    found = [b.data for row in prompt.buttons for b in row if b.label == label]
    assert found, f"no button {label!r} in {[b.label for row in prompt.buttons for b in row]}"
    return found[0]


async def press(flow: SupportFlow, who: Actor, raw: str) -> Reply:
    found = callbacks.parse(raw)
    assert isinstance(found, callbacks.ProfilePress), raw
    return await flow.press(who, found)


def expired(reply: Reply) -> bool:
    return reply.notice is not None and "expired" in reply.notice and reply.replace is None


async def paused(store: Store) -> bool:
    async with store.unit() as uow:
        person = await uow.people.find(SAM)
        assert person is not None
        return await uow.supporters.paused(person)


async def test_only_the_profile_screen_showing_now_takes_a_press(tmp_path: Path) -> None:
    store, flow = await setup(tmp_path)
    try:
        first = (await flow.profile(sam)).prompts[0]
        pause = data(first, "Pause new people")
        found = engine.parse(pause)
        assert found is not None and (found.dialog, found.version) == ("profile", 2)
        second = (await flow.profile(sam)).prompts[0]  # /profile again: a new screen
        assert expired(await press(flow, sam, pause))  # the first one's button
        assert not await paused(store)
        done = await press(flow, sam, data(second, "Pause new people"))
        assert done.replace is not None and await paused(store)
        # The pressed message now shows the next screen; the button it had is stale.
        assert expired(await press(flow, sam, data(second, "Pause new people")))
        resume = await press(flow, sam, data(done.replace, "Take new people again"))
        assert resume.replace is not None and not await paused(store)
    finally:
        await store.close()


async def test_a_field_asked_then_an_older_screen_pressed(tmp_path: Path) -> None:
    store, flow = await setup(tmp_path)
    try:
        shown = (await flow.profile(sam)).prompts[0]
        asked = await press(flow, sam, data(shown, "Area"))
        assert "town or area" in asked.prompts[0].text
        assert await owner(store, SAM) == "profile"  # the typed answer is the profile's
        assert expired(await press(flow, sam, data(shown, "Leave the team")))
        answered = await flow.typed(sam, "Brighton")
        assert answered is not None and "Brighton" in answered.prompts[0].text
        # The profile shows again, asking nothing: typed text is no longer for it.
        assert await owner(store, SAM) == "referrer"
        assert await flow.typed(sam, "hello") is None
        assert expired(await press(flow, sam, data(asked.prompts[0], "Cancel")))
    finally:
        await store.close()


async def test_buttons_from_before_the_format_still_work(tmp_path: Path) -> None:
    store, flow = await setup(tmp_path)
    try:
        assert (await press(flow, sam, "p:pause")).replace is not None
        assert await paused(store)
        opened = await press(flow, sam, "p:show")  # "My profile" after /join, too
        assert opened.replace is not None and "Your supporter profile" in opened.replace.text
        assert "town or area" in (await press(flow, sam, "p:edit:area")).prompts[0].text
    finally:
        await store.close()


async def test_someone_without_the_role_is_refused_and_audited_once(tmp_path: Path) -> None:
    store, flow = await setup(tmp_path)
    try:
        shown = (await flow.profile(sam)).prompts[0]
        refused = await press(flow, robin, data(shown, "Pause new people"))
        assert refused.notice is not None and "only for the service" in refused.notice
        async with store.unit() as uow:
            actions = [e.action for e in await uow.audit.entries()]
        assert actions.count("refused:supporter") == 1
        assert not await paused(store)
    finally:
        await store.close()
