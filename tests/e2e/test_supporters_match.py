"""Peer supporters end to end: join, keep a profile, get ranked, accept or decline a hand-over.

The real bot against the emulator: two supporters join with one-time codes and fill in their
profiles with buttons and typed words; a coordinator asks for suggestions on a referral and sees
them ranked with reasons; the hand-over carries only what the coordinator chose to share; a
decline goes back to the coordinator; a yes makes the match and tells the person; pause and
leave take a supporter out of the suggestions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, hand_over, refer, write_config
from tests.e2e.harness import CHOICES_KEY, HIV_PLAN, BotFiles, in_process

SAM, RIA = 8101, 8102


@pytest.fixture
async def service(
    tmp_path: Path, emulator: BotApiEmulator
) -> AsyncIterator[tuple[BotFiles, Runtime]]:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    async with in_process(files, emulator) as runtime:
        yield files, runtime


async def invite(runtime: Runtime) -> str:
    now = datetime.now(UTC)
    async with runtime.store.unit() as uow:
        return await uow.invites.create("supporter", "hiv", now, now + timedelta(days=1))


async def join(supporter: ScriptedUser, runtime: Runtime) -> StoredMessage:
    await supporter.send(f"/join {await invite(runtime)}")
    await supporter.wait_for(lambda m: "peer supporter" in m.text)
    return await supporter.wait_for(lambda m: "My profile" in m.button_texts)


async def tick(person: ScriptedUser, emulator: BotApiEmulator, field: str, *labels: str) -> None:
    """Open a choice field of the profile, tick ``labels``, then Done."""
    screen = person.last_bot_message
    assert screen is not None
    await person.press(field, message=screen)
    await emulator.wait_until(lambda: "Choose" in screen.text, what=f"{field} choices")
    for label in labels:
        await person.press(f"☐ {label}", message=screen)
        await emulator.wait_until(
            lambda label=label: f"☑ {label}" in screen.button_texts, what=f"{label} ticked"
        )
    await person.press("Done", message=screen)
    await emulator.wait_until(lambda: "Your supporter profile" in screen.text, what="profile")


async def profile(
    person: ScriptedUser,
    emulator: BotApiEmulator,
    runtime: Runtime,
    languages: list[str],
    setting: str,
    interests: str,
) -> StoredMessage:
    start = await join(person, runtime)
    await person.press("My profile", message=start)
    await emulator.wait_until(lambda: "Your supporter profile" in start.text, what="profile")
    await tick(person, emulator, "Languages", *languages)
    await tick(person, emulator, "Meet", setting)
    await tick(person, emulator, "Free", "Weekday evenings")
    await person.press("Interests", message=start)
    await person.wait_for(lambda m: "things you enjoy" in m.text)
    await person.send(interests)
    return await person.wait_for(lambda m: "Your supporter profile" in m.text)


async def contacted_referral(
    emulator: BotApiEmulator, files: BotFiles, plan: dict[str, object] | None = None
) -> tuple[ScriptedUser, ScriptedUser, str, StoredMessage]:
    group = emulator.group(GROUP_ID, "Coordinators")
    robin = emulator.user(5601, "Robin")
    reference = await refer(robin, plan or HIV_PLAN, files.config())
    await group_notice(group, reference)
    cora = emulator.user(CORA, "Cora")
    await cora.send("/start")
    await cora.press("Claim", chat=group)
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Contacted", message=details)
    status = await cora.wait_for(lambda m: f"{reference} is now contacted" in m.text)
    return robin, cora, reference, status


async def test_suggest_hand_over_decline_then_accept(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    sam, ria = emulator.user(SAM, "Sam"), emulator.user(RIA, "Ria")
    mine = await profile(sam, emulator, runtime, ["English"], "Online", "Walking and cooking")
    assert "Name: Sam" in mine.text  # their Telegram first name, theirs to change
    assert "English" in mine.text and "Weekday evenings" in mine.text
    assert "Walking and cooking" in mine.text
    await profile(ria, emulator, runtime, ["Swedish"], "In person", "Football")

    robin, cora, reference, status = await contacted_referral(emulator, files)
    await cora.press("Match", message=status)
    offer = await cora.wait_for(lambda m: "best fit first" in m.text)
    first, second = offer.text.split("\n\n")[1:3]
    assert first.startswith("1. Sam")
    assert "✓ speaks English" in first and "✓ free Weekday evenings" in first
    assert "✓ Online" in first and "✓ likes walking" in first
    assert "✓ 2 of 2 places free" in first
    assert second.startswith("2. Ria") and "✗ no shared language" in second
    assert "✗ cannot meet: Online" in second

    await cora.press("1. Sam", message=offer)
    await emulator.wait_until(lambda: "What should Sam know" in offer.text, what="share")
    shared = [t for t in offer.button_texts if t.startswith("☑")]
    assert any("call you" in t for t in shared)  # how to address them, and what matching used
    assert not any("clinic" in t.lower() for t in offer.button_texts)  # verification: never
    assert not any("How old" in t for t in shared)
    await cora.press("Send to Sam", message=offer)
    await emulator.wait_until(lambda: "Sent to Sam" in offer.text, what="sent")

    handover = await sam.wait_for(lambda m: "can you support this person" in m.text)
    assert handover.text.startswith(f"{reference}: can you support this person?")
    assert handover.protect_content
    assert "Robin" in handover.text and "Art and walking" in handover.text
    assert "Lawson Unit" not in handover.text  # never shared
    assert "25 to 34" not in handover.text  # not ticked
    first_yes = handover.buttons[0][0].data or ""
    await sam.press("No, not this time", message=handover)
    await sam.wait_for(lambda m: "ask someone else" in m.text)
    declined = await cora.wait_for(lambda m: "Sam cannot take" in m.text)
    assert declined.protect_content

    await cora.press("Match", message=declined)
    again = await cora.wait_for(lambda m: "best fit first" in m.text)
    first, second = again.text.split("\n\n")[1:3]
    assert first.startswith("1. Ria")  # Sam said no to this one: last
    assert second.startswith("2. Sam") and "✗ said no to this one before" in second
    await cora.press("2. Sam", message=again)
    await emulator.wait_until(lambda: "What should Sam know" in again.text, what="share")
    await cora.press("Send to Sam", message=again)
    second_offer = await sam.wait_for(lambda m: "can you support this person" in m.text)

    ria_press = await ria.press_data(second_offer.buttons[0][0].data or "")  # not hers
    assert "expired" in ((await ria_press.answered()).text or "")
    await sam.press("Yes, I can", message=second_offer)
    await sam.wait_for(lambda m: f"You support {reference} now" in m.text)
    await cora.wait_for(lambda m: f"Sam said yes to {reference}" in m.text)
    news = await robin.wait_for(lambda m: "found someone for you" in m.text)
    assert news.text.startswith("Hello, we have some news for you.")

    stale = await sam.press_data(first_yes, message=handover)  # the declined one
    await stale.answered()
    await sam.wait_for(lambda m: "no longer open" in m.text)

    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    assert "Status: matched" in view.text
    assert "Supporter: Sam (said yes)" in view.text
    await cora.press("Match", message=view)
    await cora.wait_for(lambda m: f"{reference} is matched with Sam" in m.text)

    raw = sqlite3.connect(files.database).execute("SELECT status FROM engagements").fetchall()
    assert sorted(r[0] for r in raw) == ["accepted", "declined"]


async def test_pause_and_leave(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    sam = emulator.user(SAM, "Sam")
    screen = await profile(sam, emulator, runtime, ["English"], "Online", "Art")
    await sam.press("Pause new people", message=screen)
    await emulator.wait_until(lambda: "You are paused" in screen.text, what="paused")

    robin, cora, reference, status = await contacted_referral(emulator, files)
    await cora.press("Match", message=status)
    await cora.wait_for(lambda m: "No peer supporters are ready" in m.text)

    await sam.press("Take new people again", message=screen)
    await emulator.wait_until(lambda: "can suggest you" in screen.text, what="resumed")
    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    handover = await hand_over(cora, sam, emulator, view)
    await sam.press("Yes, I can", message=handover)
    await cora.wait_for(lambda m: "Sam said yes" in m.text)

    await sam.send("/mydata")  # a supporter's copy holds their profile
    copy = await sam.wait_for(lambda m: "Your supporter profile" in m.text)
    assert "Interests: Art" in copy.text  # labels and sentences, not the stored names
    assert "Coordinators can suggest you for new people." in copy.text
    file = await sam.wait_for(lambda m: m.document is not None)
    assert file.document is not None
    assert json.loads(file.document.data)["supporter_profile"]["languages"] == ["en"]

    await sam.send("/profile")
    mine = await sam.wait_for(lambda m: "Your supporter profile" in m.text)
    assert "People at once: 2 (now 1)" in mine.text
    await sam.press("Leave the team", message=mine)
    await emulator.wait_until(lambda: "Leave the supporter team?" in mine.text, what="ask")
    await sam.press("Yes, leave", message=mine)
    await emulator.wait_until(lambda: "You have left the team" in mine.text, what="left")
    left = await cora.wait_for(lambda m: "left the supporter team" in m.text)
    assert reference in left.text and "Match" in left.button_texts
    await sam.send("/profile")
    await sam.wait_for(lambda m: "only for the service's peer supporters" in m.text)
    forged = await robin.press_data("p:show")  # not a supporter: a kind notice, nothing else
    assert "only for the service's peer supporters" in ((await forged.answered()).text or "")


async def matched(
    emulator: BotApiEmulator,
    files: BotFiles,
    runtime: Runtime,
    sam: ScriptedUser,
    plan: dict[str, object] | None = None,
) -> tuple[ScriptedUser, ScriptedUser, str]:
    await profile(sam, emulator, runtime, ["English"], "Online", "Art")
    robin, cora, reference, status = await contacted_referral(emulator, files, plan)
    handover = await hand_over(cora, sam, emulator, status)
    await sam.press("Yes, I can", message=handover)
    await cora.wait_for(lambda m: "Sam said yes" in m.text)
    return robin, cora, reference


async def test_a_referrer_erasing_themselves_is_withdrawn_for_their_supporter_too(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    sam = emulator.user(SAM, "Sam")
    robin, cora, reference = await matched(emulator, files, runtime, sam)
    await robin.send("/delete")
    ask = await robin.wait_for(lambda m: "Yes, delete everything" in m.button_texts)
    await robin.press("Yes, delete everything", message=ask)
    told = await sam.wait_for(lambda m: f"{reference} was withdrawn" in m.text)
    assert told.protect_content and "Robin" not in told.text
    await cora.wait_for(lambda m: f"{reference} was withdrawn" in m.text)
    raw = sqlite3.connect(files.database).execute("SELECT count(*) FROM engagements").fetchone()
    assert raw == (0,)  # gone with the referral


async def test_a_supporter_erasing_themselves_leaves_nobody_unsupported(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    sam = emulator.user(SAM, "Sam")
    _robin, cora, reference = await matched(emulator, files, runtime, sam)
    await sam.send("/delete")
    ask = await sam.wait_for(lambda m: "Yes, delete everything" in m.button_texts)
    await sam.press("Yes, delete everything", message=ask)
    left = await cora.wait_for(lambda m: "left the supporter team" in m.text)
    assert reference in left.text
    db = sqlite3.connect(files.database)
    assert db.execute("SELECT count(*) FROM supporters").fetchone() == (0,)
    assert db.execute("SELECT status, supporter_id FROM engagements").fetchall() == [
        ("ended", None)
    ]


async def test_closing_a_referral_withdraws_an_unanswered_offer(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    sam = emulator.user(SAM, "Sam")
    await profile(sam, emulator, runtime, ["English"], "Online", "Art")
    _robin, cora, reference, status = await contacted_referral(emulator, files)
    handover = await hand_over(cora, sam, emulator, status)

    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    assert "Supporter: Sam (asked, no answer yet)" in view.text
    await cora.press("Close", message=view)
    await cora.wait_for(lambda m: f"{reference} is now closed" in m.text)
    await sam.press("Yes, I can", message=handover)
    await sam.wait_for(lambda m: "no longer open" in m.text)
    db = sqlite3.connect(files.database)
    assert db.execute("SELECT status FROM engagements").fetchall() == [("withdrawn",)]
    assert db.execute("SELECT status FROM referrals").fetchall() == [("closed",)]


async def test_closing_after_the_supporter_left_still_asks_for_feedback_once(
    service: tuple[BotFiles, Runtime], emulator: BotApiEmulator
) -> None:
    files, runtime = service
    sam = emulator.user(SAM, "Sam")
    plan = {**HIV_PLAN, CHOICES_KEY: ["A short feedback survey at the end"]}
    robin, cora, reference = await matched(emulator, files, runtime, sam, plan)
    await sam.send("/profile")
    mine = await sam.wait_for(lambda m: "Your supporter profile" in m.text)
    await sam.press("Leave the team", message=mine)
    await emulator.wait_until(lambda: "Leave the supporter team?" in mine.text, what="ask")
    await sam.press("Yes, leave", message=mine)
    left = await cora.wait_for(lambda m: "left the supporter team" in m.text)
    assert reference in left.text

    await cora.send(f"/referral {reference}")
    view = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Close", message=view)
    invite = await robin.wait_for(lambda m: "a short question for you" in m.text)
    assert "Start" in invite.button_texts
    db = sqlite3.connect(files.database)
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'feedback'").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM outbox WHERE kind = 'closing_report'").fetchone() == (
        0,
    )  # the supporter left: no closing report for them
