"""Peer support groups end to end: a coordinator offers a group on a referral whose person asked
for one, the person joins and chooses how facilitators see them, a full group offers its waiting
list, a member leaves and the freed place goes to the next in line, erasure empties every list.

The real bot against the emulator, with the shipped example's online group cut to two places.
Nothing about a group reaches the coordinators' group chat, and no member is ever shown another.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.i18n import load_catalog
from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, refer, write_config
from tests.e2e.harness import (
    HIV_PLAN,
    REFERENCE,
    SKIP,
    BotFiles,
    consent,
    drained,
    fill_form,
    in_process,
)
from tests.e2e.test_router import applied

BOTH = {**HIV_PLAN, "support_type": "Both"}
GROUP = "Talking Together"


@pytest.fixture
async def service(
    tmp_path: Path, emulator: BotApiEmulator
) -> AsyncIterator[tuple[BotFiles, Runtime]]:
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("capacity = 10\n", "capacity = 2\n", 1), encoding="utf-8")
    files = BotFiles(tmp_path, config_path=path)
    async with in_process(files, emulator) as runtime:
        yield files, runtime


async def referral_view(
    emulator: BotApiEmulator, files: BotFiles, person: ScriptedUser, plan: dict[str, object]
) -> tuple[str, StoredMessage]:
    """The person refers themselves; Cora claims, marks contacted and opens the referral."""
    group = emulator.group(GROUP_ID, "Coordinators")
    reference = await refer(person, plan, files.config())
    await group_notice(group, reference)
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Contacted", message=details)
    await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(
        lambda m: m.text.startswith(f"Referral {reference}") and "Match" in m.button_texts
    )
    return reference, view


async def offer(emulator: BotApiEmulator, reference: str, view: StoredMessage) -> StoredMessage:
    cora = emulator.user(CORA, "Cora")
    await cora.press("Offer a group", message=view)
    found = await cora.wait_for(lambda m: f"Groups for {reference}, best fit first" in m.text)
    await cora.press(GROUP, message=found, contains=True)
    await emulator.wait_until(lambda: not found.text.startswith("Groups for"), what="sent")
    return found


async def join(person: ScriptedUser, emulator: BotApiEmulator, *, waiting: bool) -> None:
    first = "The group" if waiting else "There is a place for you"
    invitation = await person.wait_for(lambda m: first in (m.text or ""))
    assert invitation.text.startswith("We have some news for you.")  # neutral on a lock screen
    await person.press("Join the waiting list" if waiting else "Join", message=invitation)
    await emulator.wait_until(
        lambda: "waiting list for" in invitation.text or "You are in the group" in invitation.text,
        what="joined",
    )


async def test_offer_join_waiting_list_leave_and_erase(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, _runtime = service
    cora = emulator.user(CORA, "Cora")
    coordinators = emulator.group(GROUP_ID, "Coordinators")

    # a person who asked for one-to-one support only is not offered a group
    solo = emulator.user(5701, "Solo")
    _, solo_view = await referral_view(emulator, files, solo, HIV_PLAN)
    assert "Offer a group" not in solo_view.button_texts

    robin = emulator.user(5601, "Robin")
    reference, view = await referral_view(emulator, files, robin, BOTH)
    assert "Offer a group" in view.button_texts and "Match" in view.button_texts
    await cora.press("Offer a group", message=view)
    ranked = await cora.wait_for(lambda m: f"Groups for {reference}, best fit first" in m.text)
    first, second = ranked.text.split("\n\n")[1:3]
    assert first.startswith(f"1. {GROUP}")
    assert "✓ speaks English" in first and "✓ Online" in first
    assert "✓ 2 of 2 places free" in first and "next: " in first
    assert second.startswith("2. Thursday group") and "✗ no shared language" in second
    assert ranked.protect_content
    await cora.press(f"1. {GROUP}", message=ranked)
    await emulator.wait_until(
        lambda: f"{reference} is invited to {GROUP}" in ranked.text, what="sent"
    )

    invitation = await robin.wait_for(lambda m: "There is a place for you" in m.text)
    assert invitation.text.startswith("We have some news for you.")
    assert "Next meeting:" in invitation.text and "link privately" in invitation.text
    assert "https://" not in invitation.text  # the link comes shortly before a meeting
    await robin.press("Join", message=invitation)
    shown = await robin.wait_for(lambda m: "How should the people who run the group" in m.text)
    assert shown.button_texts == ["My name (Robin)", "Only initials (R.)"]
    await robin.press("Only initials (R.)", message=shown)
    await emulator.wait_until(lambda: "will see you as: R." in shown.text, what="saved")
    told = await cora.wait_for(lambda m: f"{reference} joined {GROUP}" in m.text)
    assert told.protect_content

    # a second member fills the group; a third is asked about the waiting list
    kim = emulator.user(5602, "Kim")
    kim_ref, kim_view = await referral_view(emulator, files, kim, {**BOTH, "name": "Kim"})
    await offer(emulator, kim_ref, kim_view)
    await join(kim, emulator, waiting=False)
    lee = emulator.user(5603, "Lee")
    lee_ref, lee_view = await referral_view(emulator, files, lee, {**BOTH, "name": "Lee"})
    full = await offer(emulator, lee_ref, lee_view)
    assert f"{GROUP} is full" in full.text
    await join(lee, emulator, waiting=True)
    await cora.wait_for(lambda m: f"{lee_ref} is on the waiting list of {GROUP}" in m.text)

    # offering the same group twice is refused kindly
    await cora.press("Offer a group", message=lee_view)
    again = await cora.wait_for(lambda m: f"Groups for {lee_ref}, best fit first" in m.text)
    assert "✗ no places free" in again.text and "1 on the waiting list" in again.text
    refused = await cora.press(f"1. {GROUP}", message=again)
    answer = await refused.answered()
    assert answer.text is not None and "already has a place" in answer.text

    # /groups, Leave: the freed place goes to Lee, next in line
    await robin.send("/groups")
    mine = await robin.wait_for(lambda m: m.text.startswith("Your groups:"))
    assert f"{GROUP} · member" in mine.text and "Next meeting:" in mine.text
    await robin.press(f"Leave {GROUP}", message=mine)
    sure = await robin.wait_for(lambda m: m.text == f"Leave {GROUP}?")
    await robin.press("Yes, leave", message=sure)
    await emulator.wait_until(lambda: f"You have left {GROUP}" in sure.text, what="left")
    await cora.wait_for(lambda m: f"{reference} left {GROUP}" in m.text)
    await join(lee, emulator, waiting=False)
    await cora.wait_for(lambda m: f"{lee_ref} joined {GROUP}" in m.text)
    await robin.send("/groups")
    await robin.wait_for(lambda m: m.text == "You are not in any group just now.")
    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(
        lambda m: m.text.startswith(f"Referral {reference}") and "Offer a group" in m.button_texts
    )

    # Robin may be offered the group again: it is full, so its waiting list
    await offer(emulator, reference, view)
    await join(robin, emulator, waiting=True)
    await cora.wait_for(lambda m: f"{reference} is on the waiting list of {GROUP}" in m.text)

    # /mydata: Robin's own copy lists the group and how its facilitators see them
    await robin.send("/mydata")
    copy = await robin.wait_for(lambda m: "Your groups" in (m.text or ""))
    assert f"{GROUP} · on the waiting list · shown as: R." in copy.text

    # Kim erases everything: gone from every group and list, and the place goes to Robin
    await kim.send("/delete")
    await kim.wait_for(lambda m: m.text.startswith("Delete everything?"))
    await kim.press("Yes, delete everything")
    await kim.wait_for(lambda m: "Everything we held about you is deleted" in m.text)
    await join(robin, emulator, waiting=False)
    await cora.wait_for(lambda m: f"{reference} joined {GROUP}" in m.text)

    # nobody saw another member; the coordinators' chat never heard of the group
    for person, others in (
        (robin, ("Kim", "Lee")),
        (kim, ("Robin", "Lee")),
        (lee, ("Robin", "Kim")),
    ):
        for message in person.messages:
            assert not any(name in (message.text or "") for name in others), message.text
    assert not any(GROUP in m.text for m in coordinators.messages)
    await drained(emulator)
    with sqlite3.connect(files.database) as conn:
        rows = conn.execute("SELECT status FROM group_places ORDER BY queued_at").fetchall()
    assert sorted(r[0] for r in rows) == ["member", "member"]  # Lee, Robin again; Kim erased
    raw = b"".join(
        p.read_bytes() for p in (files.database, Path(f"{files.database}-wal")) if p.exists()
    )
    for canary in (GROUP.encode(), b"Robin", b"talking_together"):
        assert canary not in raw


async def test_a_swedish_person_is_invited_and_joins_in_swedish(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, _runtime = service
    sv = load_catalog().translator("sv")
    programme = files.config().programme("hiv")
    assert programme is not None
    group = emulator.group(GROUP_ID, "Coordinators")
    astrid = emulator.user(5704, "Astrid", language_code="sv")
    await consent(astrid, agree=sv("Yes, I agree"))
    chosen = {"support_type": "both", "languages": "sv", "setting": "in_person"}
    plan: dict[str, object] = {}
    for q in programme.form:
        if q.id not in HIV_PLAN or HIV_PLAN[q.id] is SKIP:
            continue
        labels = {o.id: programme.text(o.label, "sv") for o in q.options}
        if q.kind == "multi":
            plan[q.id] = [labels[chosen.get(q.id, q.options[0].id)]]
        elif q.kind == "single":
            pick = chosen.get(q.id, q.options[2 if q.role == "age" else 0].id)
            plan[q.id] = labels[pick]
        else:
            plan[q.id] = "Astrid"
    await fill_form(
        astrid,
        programme,
        plan,
        "sv",
        skip_label=sv("Skip"),
        prefer_label=sv("Prefer not to say"),
        done=sv("Done"),
        proceed=sv("Continue"),
    )
    await astrid.press(sv("Send my form"))
    sent = await astrid.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    match = REFERENCE.search(sent.text)
    assert match is not None
    reference = match.group(0)
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
    ranked = await cora.wait_for(lambda m: f"Groups for {reference}, best fit first" in m.text)
    best = ranked.text.split("\n\n")[1]
    assert best.startswith("1. Thursday group")
    assert "✓ speaks Swedish" in best and "✓ In person" in best
    await cora.press("1. Thursday group", message=ranked)

    invitation = await astrid.wait_for(lambda m: "Torsdagsgruppen" in m.text)
    assert invitation.text.startswith(sv("We have some news for you."))
    assert sv("We have some news for you.") != "We have some news for you."
    assert "Samlingssalen, Exempelgatan 1, Malmö" in invitation.text
    assert "Nästa träff:" in invitation.text
    await astrid.press(sv("Join"), message=invitation)
    shown = await astrid.wait_for(
        lambda m: sv("How should the people who run the group see you?") in m.text
    )
    await astrid.press("Mitt namn (Astrid)", message=shown)
    await emulator.wait_until(lambda: "ser dig som: Astrid" in shown.text, what="saved")
    await astrid.send("/groups")
    mine = await astrid.wait_for(lambda m: m.text.startswith("Dina grupper:"))
    assert "Torsdagsgruppen · medlem" in mine.text


async def test_a_coordinator_pauses_opens_and_closes_a_group(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, _runtime = service
    cora = emulator.user(CORA, "Cora")
    robin = emulator.user(5601, "Robin")
    reference, view = await referral_view(emulator, files, robin, BOTH)
    await offer(emulator, reference, view)
    await join(robin, emulator, waiting=False)

    await cora.send("/groups")
    listed = await cora.wait_for(lambda m: m.text.startswith("Groups of your programmes:"))
    assert f"{GROUP} · open" in listed.text and "1 of 2 places taken, 0 waiting" in listed.text
    assert "Robin" not in listed.text
    await cora.press(GROUP, message=listed)
    await emulator.wait_until(lambda: "Pause" in listed.button_texts, what="admin")
    await cora.press("Pause", message=listed)
    await emulator.wait_until(lambda: f"{GROUP} · paused" in listed.text, what="paused")

    # a paused group is not offered
    await cora.press("Offer a group", message=view)
    ranked = await cora.wait_for(lambda m: f"Groups for {reference}, best fit first" in m.text)
    assert GROUP not in ranked.text and "Thursday group" in ranked.text

    await cora.press("Open again", message=listed)
    await emulator.wait_until(lambda: f"{GROUP} · open" in listed.text, what="open")
    await cora.press("Close the group", message=listed)
    await emulator.wait_until(lambda: "Yes, close it" in listed.button_texts, what="confirm")
    await cora.press("Yes, close it", message=listed)
    await emulator.wait_until(lambda: listed.text == f"{GROUP} is closed.", what="closed")
    ended = await robin.wait_for(lambda m: "has come to an end" in (m.text or ""))
    assert ended.text.startswith("A change of plan.")
    await robin.send("/groups")
    await robin.wait_for(lambda m: m.text == "You are not in any group just now.")
    await cora.send("/groups")
    again = await cora.wait_for(lambda m: m.text.startswith("Groups of your programmes:"))
    assert GROUP not in again.text


async def test_a_coordinator_makes_a_new_group_in_the_bot(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    files, _runtime = service
    caplog.set_level(logging.DEBUG, logger="peerdoor.router")
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.send("/groups")
    listed = await cora.wait_for(lambda m: m.text.startswith("Groups of your programmes:"))
    await cora.press("New group: Side by Side peer support", message=listed)
    await cora.wait_for(lambda m: m.text.startswith("New group. What is it called?"))
    await cora.send("Friday circle")
    language = await cora.wait_for(lambda m: m.text == "Which language does it meet in?")
    await cora.press("English", message=language)
    setting = await cora.wait_for(lambda m: m.text == "Does it meet online or in person?")
    await cora.press("In person", message=setting)
    await cora.wait_for(lambda m: m.text.startswith("Where does it meet?"))
    await cora.send("Room 4, 10 High Street, Brighton")
    await cora.wait_for(lambda m: m.text.startswith("When does it meet?"))
    await cora.send("every Fridays sometime")  # not a schedule: asked again, kindly
    await cora.wait_for(lambda m: m.text.startswith("I could not read that."))
    await cora.send("every second Friday 17:00")
    places = await cora.wait_for(lambda m: m.text == "How many places?")
    await cora.press("8", message=places)
    who = await cora.wait_for(lambda m: m.text.startswith("Who runs it?"))
    await cora.press("Done", message=who)
    summary = await cora.wait_for(lambda m: m.text.startswith("Friday circle"))
    assert "every second Friday 17:00" in summary.text and "8 places" in summary.text
    await cora.press("Save", message=summary)
    await emulator.wait_until(lambda: "Friday circle · open" in summary.text, what="saved")
    # /groups, each press and each typed answer: one write transaction each
    routes = applied(caplog)
    assert {route for route, _n in routes} >= {"mine", "press", "typed"}, routes
    assert all(n == 1 for _route, n in routes), routes
    assert "0 of 8 places taken" in summary.text and "Next meeting: Friday" in summary.text

    # changed afterwards: a new name and more places; when it meets stays
    first_next = summary.text.split("Next meeting: ")[1]
    await cora.press("Change", message=summary)
    change = await cora.wait_for(
        lambda m: m.text.startswith("Friday circle") and "Name" in m.button_texts
    )
    await cora.press("Name", message=change)
    await cora.wait_for(lambda m: m.text.startswith("New group. What is it called?"))
    await cora.send("Friday friends")
    change = await cora.wait_for(lambda m: m.text.startswith("Friday friends"))
    await cora.press("Places", message=change)
    places = await cora.wait_for(lambda m: m.text == "How many places?")
    await cora.press("10", message=places)
    change = await cora.wait_for(
        lambda m: m.text.startswith("Friday friends") and "10 places" in m.text
    )
    await cora.press("Save", message=change)
    await emulator.wait_until(lambda: "0 of 10 places taken" in change.text, what="changed")
    assert change.text.startswith("Friday friends · open") and first_next in change.text

    # it is offered like the others, and a person joins it
    robin = emulator.user(5601, "Robin")
    plan = {**BOTH, "setting": "In person", "area": "Brighton"}
    reference, view = await referral_view(emulator, files, robin, plan)
    await cora.press("Offer a group", message=view)
    ranked = await cora.wait_for(lambda m: f"Groups for {reference}, best fit first" in m.text)
    first = ranked.text.split("\n\n")[1]
    assert first.startswith("1. Friday friends") and "✓ In person" in first
    await cora.press("1. Friday friends", message=ranked)
    invitation = await robin.wait_for(lambda m: "There is a place for you" in (m.text or ""))
    assert "In person: Room 4, 10 High Street, Brighton" in invitation.text
    assert "Next meeting: Friday" in invitation.text
