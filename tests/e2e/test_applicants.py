"""From volunteer to trusted supporter (issue 15, items 1 and 2), through the real bot.

A coordinator invites a supporter from the bot; a volunteer moves through the pipeline to
"active" and becomes a supporter with no server command; training modules, checks and
supervision are recorded in /applicants; only an active, trained and checked supporter is
suggested for a match, and one whose supervision is overdue is marked. Forged and stale presses,
someone who is not a coordinator and a coordinator whose role was taken away change nothing.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.i18n import load_catalog
from bot.telegram.app import Runtime
from conversations import applicants
from conversations.applicants import Record
from sandbox.emulator import BotApiEmulator, ScriptedUser, StoredMessage
from tests.e2e.coordination import CORA, DIANA, write_config
from tests.e2e.harness import (
    BotFiles,
    MovableClock,
    consent,
    drained,
    fill_form,
    in_process,
    later,
)
from tests.e2e.test_router import applied
from tests.e2e.test_supporters_match import contacted_referral

SAM, VERA, IRIS, MALLORY = 8201, 8202, 8203, 8204
TRAINING = """
training_modules = [
  { id = "basics", name = { en = "Peer support basics", sv = "Grunder i stöd" } },
  { id = "safety", name = { en = "Keeping safe", sv = "Att hålla sig trygg" } },
]
checks = [{ id = "refs", name = { en = "Two references", sv = "Två referenser" } }]
supervision_every_days = 30
"""
NOT_A_COORDINATOR = "Sorry, this is only for the service's coordinators."
EXPIRED = "This button has expired. Please use the newest message."
DONE_ALREADY = "That is done already."
DAY = 24 * 3600


def training_config(folder: Path) -> Path:
    path = write_config(folder)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('id = "hiv"\n', f'id = "hiv"\n{TRAINING}', 1), encoding="utf-8")
    return path


@pytest.fixture
async def service(
    tmp_path: Path, emulator: BotApiEmulator
) -> AsyncIterator[tuple[BotFiles, Runtime, MovableClock]]:
    files = BotFiles(tmp_path, config_path=training_config(tmp_path))
    clock = MovableClock()
    async with in_process(files, emulator, clock) as runtime:
        yield files, runtime, clock


def audit(files: BotFiles) -> list[tuple[str, str | None]]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return db.execute("SELECT action, detail FROM audit_log ORDER BY seq").fetchall()


def stage_of(files: BotFiles, applicant: str) -> str:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        row = db.execute("SELECT stage FROM applicants WHERE id = ?", (applicant,)).fetchone()
    return str(row[0])


def stages(files: BotFiles) -> list[str]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return [s for (s,) in db.execute("SELECT stage FROM applicants ORDER BY created_at")]


async def invite_from_bot(cora: ScriptedUser, role: str = "supporter") -> str:
    await cora.send(f"/invite {role} hiv")
    made = await cora.wait_for(lambda m: "one-time code" in m.text)
    assert made.protect_content
    return next(line for line in made.text.split("\n\n") if line.count("-") == 2)


async def card_of(
    cora: ScriptedUser, emulator: BotApiEmulator, name: str, heading: str = "Volunteers:"
) -> StoredMessage:
    await cora.send("/applicants")
    listing = await cora.wait_for(lambda m: m.text.startswith(heading))
    await cora.press(name, message=listing)
    await emulator.wait_until(lambda: listing.text.startswith(f"{name} ·"), what="card")
    return listing


async def tick(
    cora: ScriptedUser,
    emulator: BotApiEmulator,
    screen: StoredMessage,
    tool: str,
    labels: list[str],
) -> None:
    """On a card: open Training or Checks, record ``labels`` done, back to the card."""
    await cora.press(tool, message=screen)
    await emulator.wait_until(lambda: "Tap a" in screen.text, what=tool)
    for label in labels:
        await cora.press(f"☐ {label}", message=screen)
        await emulator.wait_until(
            lambda label=label: any(t.startswith(f"☑ {label}") for t in screen.button_texts),
            what=f"{label} recorded",
        )
    await cora.press("Done", message=screen)
    await emulator.wait_until(lambda: " · " in screen.text.split("\n")[0], what="card")


async def test_invited_supporter_is_suggested_only_once_trained_and_checked(
    service: tuple[BotFiles, Runtime, MovableClock], emulator: BotApiEmulator
) -> None:
    files, runtime, clock = service
    cora = emulator.user(CORA, "Cora")
    code = await invite_from_bot(cora)
    assert ("invite:supporter", "hiv") in audit(files)
    sam = emulator.user(SAM, "Sam")
    await sam.send(f"/start join-{code}")  # the link the invite gives
    await sam.wait_for(lambda m: "peer supporter" in m.text)
    assert stages(files) == ["active"]  # a record to keep their training in

    _robin, _cora, reference, status = await contacted_referral(emulator, files)
    await cora.press("Match", message=status)
    await cora.wait_for(lambda m: "No peer supporters are ready" in m.text)  # not trained

    card = await card_of(cora, emulator, "Sam")
    assert "Not ready to match" in card.text and "Training: 0 of 2 modules" in card.text
    await tick(cora, emulator, card, "Training", ["Peer support basics"])
    assert "Training: 1 of 2 modules" in card.text
    # a stale "record it" press on a module already recorded changes nothing
    await cora.press("Training", message=card)
    await emulator.wait_until(lambda: "Tap a module" in card.text, what="training")
    basics_done = next(b.data for row in card.buttons for b in row if "basics" in b.text.lower())
    pressed = applicants.parse(basics_done)
    assert pressed is not None and (pressed.action, pressed.arg) == ("unmod", "0")
    assert basics_done.startswith(f"v2:{pressed.screen}:")  # the engine's format, numbered
    applicant = pressed.applicant
    await cora.press_data(f"v:mod:{applicant}:0", message=card)  # a button of the release before
    await drained(emulator)
    assert cora.callback_answers[-1].text == DONE_ALREADY
    await cora.press("Done", message=card)
    await emulator.wait_until(lambda: card.text.startswith("Sam · Active"), what="card")
    # its "undo" from the training screen gone: stale by its number, the module stays done
    await cora.press_data(basics_done, message=card)
    await drained(emulator)
    assert cora.callback_answers[-1].text == EXPIRED
    assert "Training: 1 of 2 modules" in card.text
    await tick(cora, emulator, card, "Training", ["Keeping safe"])
    await tick(cora, emulator, card, "Checks", ["Two references"])
    assert "Ready to match." in card.text

    await cora.send(f"/referral {reference}")
    details = await cora.wait_for(lambda m: m.text.startswith(f"Referral {reference}"))
    await cora.press("Match", message=details)
    offer = await cora.wait_for(lambda m: "best fit first" in m.text)
    assert "1. Sam" in offer.text and "supervision overdue" not in offer.text

    # 31 days on, nobody recorded supervision: still suggested, but marked; and listed
    await cora.press("Cancel", message=offer)
    await later(runtime, emulator, clock, 31 * DAY)
    await cora.send(f"/referral {reference}")
    again = await cora.wait_for(
        lambda m: m.text.startswith(f"Referral {reference}") and m is not details
    )
    await cora.press("Match", message=again)
    late = await cora.wait_for(lambda m: "best fit first" in m.text and m is not offer)
    assert "✗ supervision overdue" in late.text
    await cora.send("/applicants")
    listing = await cora.wait_for(lambda m: "Supervision overdue: Sam" in m.text)
    await cora.press("Sam", message=listing)
    await emulator.wait_until(lambda: "Supervision overdue since" in listing.text, what="card")
    await cora.press("Supervision", message=listing)
    await cora.wait_for(lambda m: "supervision with Sam" in m.text)
    await cora.send("We talked about boundaries and rest")
    after = await cora.wait_for(lambda m: "Last supervision" in m.text)
    assert "Next supervision by" in after.text and after.protect_content
    assert ("applicant:supervision", "hiv") in audit(files)
    assert not any("boundaries" in (d or "") for _, d in audit(files))
    assert b"boundaries" not in files.raw_bytes()  # sealed

    # leaving the team: no longer listed as active
    await sam.send("/profile")
    mine = await sam.wait_for(lambda m: "Your supporter profile" in m.text)
    await sam.press("Leave the team", message=mine)
    await emulator.wait_until(lambda: "Leave the supporter team?" in mine.text, what="confirm")
    await sam.press("Yes, leave", message=mine)
    await emulator.wait_until(lambda: "You have left the team" in mine.text, what="left")
    assert stages(files) == ["withdrew"]


async def seed_applicant(runtime: Runtime, telegram_id: int, name: str) -> str:
    """A volunteer who applied (the application itself is the questionnaire of step 3)."""
    now = runtime.clock()
    async with runtime.store.unit() as uow:
        person = await uow.people.create(telegram_id, now)
        record = applicants.move(Record(name=name), "applied", now.date(), "")
        applicant = await uow.applicants.create(person, "hiv", "applied", record.to_bytes(), now)
        assert applicant is not None
        return applicant.id


async def test_pipeline_to_active_makes_a_supporter(
    service: tuple[BotFiles, Runtime, MovableClock],
    emulator: BotApiEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="peerdoor.router")
    files, runtime, _clock = service
    applicant = await seed_applicant(runtime, VERA, "Vera")
    vera = emulator.user(VERA, "Vera")
    await vera.send("/help")  # she has written to the bot (her application, in step 3)
    await vera.wait_for(lambda m: bool(m.text))
    cora = emulator.user(CORA, "Cora")
    card = await card_of(cora, emulator, "Vera")
    assert "Vera · Applied" in card.text

    async def step(label: str, stage: str) -> None:
        await cora.press(label, message=card)
        shown = {"talked": "Talked to", "training": "In training", "checked": "Checks done"}
        await emulator.wait_until(
            lambda: card.text.startswith(f"Vera · {shown.get(stage, 'Active')}"), what=stage
        )
        assert stage_of(files, applicant) == stage

    await step("We talked", "talked")
    await step("Starts training", "training")
    stale = f"v:to:{applicant}:talked"  # from an older card: no longer a way from here
    await cora.press_data(stale, message=card)
    await cora.press("Checks are done", message=card)
    await drained(emulator)
    assert [a.text for a in cora.callback_answers[-2:]] == [
        DONE_ALREADY,
        "First record every check.",
    ]
    assert stage_of(files, applicant) == "training"
    await tick(cora, emulator, card, "Checks", ["Two references"])
    await step("Checks are done", "checked")
    await cora.press("Make them a supporter", message=card)
    await drained(emulator)
    assert cora.callback_answers[-1].text == "First record every training module."
    await tick(cora, emulator, card, "Training", ["Peer support basics", "Keeping safe"])
    await cora.press("Add a note", message=card)
    await cora.wait_for(lambda m: "Type your note about Vera" in m.text)
    await cora.send("2099-01-01: from the future")
    await cora.wait_for(lambda m: "not be in the future" in m.text)
    await cora.send("Good with people, calm on the phone")
    noted = await cora.wait_for(lambda m: "calm on the phone" in m.text)
    assert noted.protect_content
    card = noted  # the card again, under the note
    await step("Make them a supporter", "active")
    assert "Vera is now a peer supporter" in cora.callback_answers[-1].text

    welcome = await vera.wait_for(lambda m: m.text.startswith("Welcome. You are now"))
    await vera.press("My profile", message=welcome)
    await emulator.wait_until(lambda: "Name: Vera" in welcome.text, what="prefilled profile")
    moves = [a for a, d in audit(files) if a.startswith("applicant:")]
    assert moves[:2] == ["applicant:talked", "applicant:training"]
    assert "applicant:active" in moves and "applicant:note" in moves
    raw = files.raw_bytes()
    assert b"calm on the phone" not in raw and b"Vera" not in raw
    # /applicants, each press and each typed note: one write transaction per update
    routes = applied(caplog)
    assert {"listing", "press", "typed"} <= {route for route, _ in routes}
    assert all(count == 1 for _, count in routes), routes


async def test_forged_presses_and_people_without_the_role_change_nothing(
    service: tuple[BotFiles, Runtime, MovableClock], emulator: BotApiEmulator
) -> None:
    files, runtime, _clock = service
    applicant = await seed_applicant(runtime, VERA, "Vera")
    mallory = emulator.user(MALLORY, "Mallory")
    await mallory.send("/applicants")
    await mallory.wait_for(lambda m: m.text == NOT_A_COORDINATOR)
    await mallory.send("/invite coordinator hiv")
    await mallory.wait_for(lambda m: m.text == NOT_A_COORDINATOR and m is not None)
    await mallory.press_data(f"v:to:{applicant}:talked")
    await drained(emulator)
    assert mallory.callback_answers[-1].text == NOT_A_COORDINATOR
    assert ("refused:to", "not_a_coordinator") in audit(files)

    cora = emulator.user(CORA, "Cora")
    card = await card_of(cora, emulator, "Vera")
    for data in (
        "v:to:ZZZZZZZZ:talked",
        f"v:to:{applicant}:active",
        "v:nope:X",
        "v:mod:" + applicant + ":99",
    ):
        await cora.press_data(data, message=card)
    await drained(emulator)
    assert [a.text for a in cora.callback_answers[-4:]] == [
        EXPIRED,
        DONE_ALREADY,
        EXPIRED,
        EXPIRED,
    ]
    assert stage_of(files, applicant) == "applied"

    # a coordinator of another programme: nothing of this one
    diana = emulator.user(DIANA, "Diana")
    await diana.send("/applicants")
    theirs = await diana.wait_for(lambda m: m.text.startswith("Volunteers:"))
    assert "Vera" not in theirs.text
    await diana.press_data(f"v:to:{applicant}:talked", message=theirs)
    await drained(emulator)
    assert diana.callback_answers[-1].text == EXPIRED
    await diana.send("/invite supporter hiv")  # not her programme
    usage = await diana.wait_for(lambda m: m.text.startswith("Write /invite supporter"))
    assert usage.text.endswith(": diabetes")
    await cora.send("/invite")
    await cora.wait_for(lambda m: m.text.startswith("Write /invite supporter"))
    assert stage_of(files, applicant) == "applied"
    assert ("refused:applicant:to", "not_found") in audit(files)

    # a coordinator by invite, then revoked: her buttons stop working at once
    code = await invite_from_bot(cora, "coordinator")
    iris = emulator.user(IRIS, "Iris")
    await iris.send(f"/join {code}")
    await iris.wait_for(lambda m: m.text.startswith("Welcome. You are now a coordinator"))
    theirs = await card_of(iris, emulator, "Vera")
    async with runtime.store.unit() as uow:
        person = await uow.people.find(IRIS)
        assert person is not None
        assert await uow.roles.revoke(person, "coordinator", "hiv")
    await iris.press("We talked", message=theirs)
    await drained(emulator)
    assert iris.callback_answers[-1].text == NOT_A_COORDINATOR
    assert stage_of(files, applicant) == "applied"


VOLUNTEER_PLAN: dict[str, object] = {
    "name": "Vera",
    "contact": "CANARYCONTACT 07700 900123",
    "languages": ["English", "Swedish"],
    "availability": ["Weekends"],
    "setting": ["Online", "In person"],
    "area": "Hove",
    "why": "CANARYWHY someone helped me once",
    "lived_experience": "CANARYLIVED since 2019",
}


async def apply(vera: ScriptedUser, files: BotFiles) -> None:
    """The volunteer's link, its privacy notice, the application, Send."""
    hiv = files.config().programme("hiv")
    assert hiv is not None
    asked = hiv.asking("volunteer")
    assert asked is not None
    await consent(vera, "hiv-volunteer")
    await fill_form(vera, asked, VOLUNTEER_PLAN)
    await vera.press("Send my form")
    await vera.wait_for(lambda m: m.text.startswith("Thank you. Your answers are sent."))


async def test_application_by_link_becomes_an_active_supporter_with_a_profile(
    service: tuple[BotFiles, Runtime, MovableClock], emulator: BotApiEmulator
) -> None:
    files, _runtime, _clock = service
    cora = emulator.user(CORA, "Cora")
    await cora.send("/applicants")
    await cora.wait_for(lambda m: "Nobody yet." in m.text)
    vera = emulator.user(VERA, "Vera")
    await apply(vera, files)
    told = await cora.wait_for(lambda m: m.text.startswith("Someone applied to volunteer"))
    assert "Vera" not in told.text and "See /applicants" in told.text
    card = await card_of(cora, emulator, "Vera")
    assert "Vera · Applied" in card.text and "Their application" in card.text
    assert "CANARYLIVED since 2019" in card.text and "English, Swedish" in card.text
    assert card.protect_content
    for label in ("We talked", "Starts training"):
        await cora.press(label, message=card)
        await emulator.wait_until(lambda label=label: label not in card.button_texts, what=label)
    await tick(cora, emulator, card, "Checks", ["Two references"])
    await tick(cora, emulator, card, "Training", ["Peer support basics", "Keeping safe"])
    await cora.press("Checks are done", message=card)
    await emulator.wait_until(lambda: card.text.startswith("Vera · Checks done"), what="checked")
    await cora.press("Make them a supporter", message=card)
    await emulator.wait_until(lambda: card.text.startswith("Vera · Active"), what="active")

    welcome = await vera.wait_for(lambda m: m.text.startswith("Welcome. You are now"))
    await vera.press("My profile", message=welcome)
    await emulator.wait_until(lambda: "Your supporter profile" in welcome.text, what="profile")
    for line in ("Name: Vera", "Languages: English, Swedish", "Free: Weekends", "Area: Hove"):
        assert line in welcome.text
    assert "Meet: Online, In person" in welcome.text
    await drained(emulator)
    raw = files.raw_bytes()
    for canary in (b"CANARYCONTACT", b"CANARYWHY", b"CANARYLIVED"):
        assert canary not in raw


async def test_delete_erases_the_application(
    service: tuple[BotFiles, Runtime, MovableClock], emulator: BotApiEmulator
) -> None:
    files, _runtime, _clock = service
    vera = emulator.user(VERA, "Vera")
    await apply(vera, files)
    assert stages(files) == ["applied"]
    await vera.send("/mydata")
    copy = await vera.wait_for(lambda m: "Volunteering: Side by Side peer support" in m.text)
    assert "Step: Applied" in copy.text and "CANARYLIVED since 2019" in copy.text
    assert copy.protect_content
    await vera.send("/delete")
    await vera.wait_for(lambda m: (m.text or "").startswith("Delete everything?"))
    await vera.press("Yes, delete everything")
    await vera.wait_for(lambda m: "Everything we held about you is deleted" in m.text)
    assert stages(files) == []


async def test_in_swedish_the_application_and_the_coordinator_screens(
    service: tuple[BotFiles, Runtime, MovableClock], emulator: BotApiEmulator
) -> None:
    files, _runtime, _clock = service
    sv = load_catalog().translator("sv")
    hiv = files.config().programme("hiv")
    assert hiv is not None
    asked = hiv.asking("volunteer")
    assert asked is not None
    cora = emulator.user(CORA, "Cora", language_code="sv")
    await cora.send("/applicants")
    await cora.wait_for(lambda m: m.text.startswith("Volontärer:"))
    astrid = emulator.user(VERA, "Astrid", language_code="sv")
    await consent(astrid, "hiv-volunteer", agree=sv("Yes, I agree"))
    plan = {
        q.id: [asked.text(q.options[0].label, "sv")] if q.kind == "multi" else "Astrid"
        for q in asked.form
        if q.required
    }
    labels = {"skip_label": sv("Skip"), "prefer_label": sv("Prefer not to say")}
    await fill_form(astrid, asked, plan, "sv", done=sv("Done"), **labels)
    await astrid.press(sv("Send my form"))
    await astrid.wait_for(lambda m: m.text.startswith("Tack. Dina svar är skickade."))
    await cora.wait_for(lambda m: m.text.startswith("Någon har ansökt om att bli volontär"))
    card = await card_of(cora, emulator, "Astrid", "Volontärer:")
    assert card.text.startswith("Astrid · Har ansökt") and "Deras ansökan" in card.text
    assert {"Vi har pratat", "Utbildning", "Kontroller"} <= set(card.button_texts)
    english = ("Applied", "Their application", "We talked", "Training:", "Checks:")
    assert not any(word in card.text for word in english)
