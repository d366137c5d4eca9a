"""The meeting planner's buttons are the engine's: a press counts only on the screen the planner
shows now, checked against the person's one screen counter, which never goes back — not when a
plan is saved and the person's dialog row goes, nor when a new plan starts for the same or
another engagement. Pressed through the use case on the real store, with the buttons' own data."""

from __future__ import annotations

from pathlib import Path

from bot.services.reply import Reply, Sender
from bot.services.sessions import SessionsFlow
from conversations import engine
from conversations.prompts import Prompt
from storage import Store
from tests.unit.test_sessions_flow import COORDINATOR, STRANGER, SUPPORTER, setup


def data(prompt: Prompt | None, label: str) -> str:
    assert prompt is not None
    found = [b.data for row in prompt.buttons for b in row if b.label == label]
    assert found, f"no button {label!r} in {[b.label for row in prompt.buttons for b in row]}"
    return found[0]


def expired(reply: Reply) -> bool:
    return reply.notice is not None and "expired" in reply.notice and reply.replace is None


async def sessions_of(store: Store, eid: str) -> int:
    async with store.unit() as uow:
        engagement = await uow.engagements.get(eid)
        assert engagement is not None
        return len(await uow.sessions.for_engagement(engagement))


async def counter(store: Store) -> tuple[int, int]:
    """(the highest screen counter, the number of dialog rows)."""
    conn = store._conn  # the plain column and row count, as other storage tests read them
    rows = await conn.execute_fetchall("SELECT max(screens) FROM screen_counters")
    dialogs = await conn.execute_fetchall("SELECT count(*) FROM dialogs")
    return int(next(iter(rows))[0]), int(next(iter(dialogs))[0])


async def plan_to_confirm(flow: SessionsFlow, who: Sender, eid: str) -> tuple[Reply, Reply]:
    """Plan, pick tomorrow, type a time, choose online: (the day picker, the check screen)."""
    picker = await flow.press(who, f"m:p:{eid}")
    day = await flow.press(who, data(picker.prompts[0], "Tomorrow"))
    assert day.replace is not None and "What time" in day.replace.text
    where = await flow.typed(who, "18:30")
    assert where is not None
    check = await flow.press(who, data(where.prompts[0], "Online"))
    assert check.replace is not None and "Is this right?" in check.replace.text
    return picker, check


async def test_the_planners_buttons_are_the_engines_and_name_their_screen(tmp_path: Path) -> None:
    store, flow, eid = await setup(tmp_path)
    sam = Sender(SUPPORTER, "en")
    try:
        picker, check = await plan_to_confirm(flow, sam, eid)
        day = engine.parse(data(picker.prompts[0], "Tomorrow"))
        save = engine.parse(data(check.replace, "Yes, save it"))
        assert day is not None and day.dialog == "meeting" and day.version == 2
        assert day.args == (eid, "20270328")
        assert save is not None and save.screen > day.screen  # every screen its own number
        saved = await flow.press(sam, data(check.replace, "Yes, save it"))
        assert saved.replace is not None and saved.replace.text.startswith("Saved:")
        assert await sessions_of(store, eid) == 1
    finally:
        await store.close()


async def test_a_press_on_any_older_screen_is_stale_even_after_the_plan_ended(
    tmp_path: Path,
) -> None:
    store, flow, eid = await setup(tmp_path)
    sam = Sender(SUPPORTER, "en")
    try:
        first_picker, first_check = await plan_to_confirm(flow, sam, eid)
        save = data(first_check.replace, "Yes, save it")
        assert (await flow.press(sam, save)).replace is not None
        shown, rows = await counter(store)
        assert rows == 0 and shown > 0  # the dialog row went; the counter stayed
        # A new plan for the same engagement: the old screens' buttons do nothing at all.
        second_picker, _second_check = await plan_to_confirm(flow, sam, eid)
        assert expired(await flow.press(sam, save))  # the same "save" screen, one plan ago
        assert expired(await flow.press(sam, data(first_picker.prompts[0], "Tomorrow")))
        assert expired(await flow.press(sam, data(second_picker.prompts[0], "Tomorrow")))
        assert expired(await flow.press(sam, data(first_check.replace, "Cancel")))
        assert await sessions_of(store, eid) == 1
        assert (await counter(store))[0] > shown  # it only grows
    finally:
        await store.close()


async def test_a_stale_cancel_leaves_the_plan_in_progress(tmp_path: Path) -> None:
    store, flow, eid = await setup(tmp_path)
    sam = Sender(SUPPORTER, "en")
    try:
        picker = await flow.press(sam, f"m:p:{eid}")
        day = await flow.press(sam, data(picker.prompts[0], "Tomorrow"))
        assert expired(await flow.press(sam, data(picker.prompts[0], "Cancel")))
        where = await flow.typed(sam, "18:30")  # still asked the time: the plan carries on
        assert where is not None and "online or in person" in where.prompts[0].text
        stopped = await flow.press(sam, data(where.prompts[0], "Cancel"))
        assert stopped.replace is not None and not expired(stopped)
        assert await flow.typed(sam, "19:00") is None  # nothing asked any more
        assert day.replace is not None
    finally:
        await store.close()


async def test_forged_planner_presses_change_nothing_and_a_stranger_is_refused_once(
    tmp_path: Path,
) -> None:
    store, flow, eid = await setup(tmp_path)
    sam, stranger = Sender(SUPPORTER, "en"), Sender(STRANGER, "en")
    try:
        picker = await flow.press(sam, f"m:p:{eid}")
        tomorrow = engine.parse(data(picker.prompts[0], "Tomorrow"))
        assert tomorrow is not None
        for forged in (
            f"m2:{tomorrow.screen}:d:{eid}:20270801",  # a day the picker did not offer
            f"m2:{tomorrow.screen}:s:{eid}",  # save before anything was chosen
            f"m2:{tomorrow.screen + 5}:d:{eid}:20270328",  # a screen not shown yet
            f"m2:{tomorrow.screen}:d:{eid}:2027 03 28",  # not an id
        ):
            assert expired(await flow.press(sam, forged)), forged
        # The stranger presses the supporter's current button: refused, audited once.
        refused = await flow.press(stranger, data(picker.prompts[0], "Tomorrow"))
        assert "cannot plan a meeting" in refused.prompts[0].text
        async with store.unit() as uow:
            actions = [e.action for e in await uow.audit.entries()]
        assert actions.count("refused:session_d") == 1
        # The supporter's own plan is where it was: their current button still works.
        day = await flow.press(sam, data(picker.prompts[0], "Tomorrow"))
        assert day.replace is not None and "What time" in day.replace.text
    finally:
        await store.close()


async def test_the_holder_and_the_supporter_each_have_their_own_counter(tmp_path: Path) -> None:
    store, flow, eid = await setup(tmp_path)
    sam, cora = Sender(SUPPORTER, "en"), Sender(COORDINATOR, "en")
    try:
        sams = await flow.press(sam, f"m:p:{eid}")
        coras = await flow.press(cora, f"m:p:{eid}")
        # Each one's button works for them; neither one's plan is the other's.
        assert (await flow.press(cora, data(coras.prompts[0], "Tomorrow"))).replace is not None
        assert (await flow.press(sam, data(sams.prompts[0], "Tomorrow"))).replace is not None
    finally:
        await store.close()
