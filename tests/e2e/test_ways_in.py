"""Ways in, through the real bot: a source's link is recorded with the referral and counted in the
report; unknown and forged sources are dropped kindly; an urgent referral nobody claims is posted
again on the urgent clock (the bot's injected clock moves; nothing sleeps)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.ops.reports_cli import make_report
from bot.telegram.app import Runtime
from sandbox.emulator import BotApiEmulator, ScriptedGroup, ScriptedUser, StoredMessage
from storage.db import to_text
from tests.e2e.coordination import CORA, GROUP_ID, group_notice, write_config
from tests.e2e.harness import HIV_PLAN, REFERENCE, BotFiles, consent, fill_form

GROUP_REMINDER = "Reminder: a referral is still waiting"


class ManualClock:
    """The bot's clock: real time at the start, then only what the test moves it by."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def running(
    files: BotFiles, emulator: BotApiEmulator, clock: ManualClock | None = None
) -> AsyncIterator[Runtime]:
    settings = files.settings(emulator)
    runtime = Runtime(
        settings,
        files.config(),
        files.key,
        emulator.token,
        *([clock] if clock is not None else []),
        poll_timeout=1,
    )
    async with runtime:
        yield runtime


async def send_form(person: ScriptedUser, files: BotFiles, payload: str) -> str:
    """``/start <payload>``, agree, fill the HIV form, send it: the reference."""
    programme = files.config().programme("hiv")
    assert programme is not None
    await consent(person, payload=payload)
    await fill_form(person, programme, HIV_PLAN)
    await person.press("Send my form")
    sent = await person.wait_for(lambda m: REFERENCE.search(m.text) is not None)
    found = REFERENCE.search(sent.text)
    assert found is not None
    return found.group(0)


def referral_columns(files: BotFiles, reference: str) -> tuple[str, bytes | None, bytes | None]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        row = db.execute(
            "SELECT route, source, source_tag FROM referrals WHERE reference = ?", (reference,)
        ).fetchone()
    return row[0], row[1], row[2]


def table_row(html: str, row_id: str) -> list[str]:
    """The cells of the report's row with this id."""
    found = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', html)
    assert found is not None, f"no row {row_id} in the report"
    return re.findall(r"<td[^>]*>(.*?)</td>", found.group(1))


async def test_a_source_link_is_recorded_sealed_and_counted_in_the_report(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    group = emulator.group(GROUP_ID, "Coordinators")
    kim = emulator.user(5801, "Kim")
    lee = emulator.user(5802, "Lee")
    max_ = emulator.user(5803, "Max")
    noa = emulator.user(5804, "Noa")
    async with running(files, emulator):
        from_kent = await send_form(kim, files, "hiv-kent")
        from_web = await send_form(lee, files, "hiv-web")
        # an unknown source: the form opens all the same, and no source is kept
        unknown = await send_form(max_, files, "hiv-no_such_place")
        # a forged consent button naming a source the config does not have
        await noa.send("/start hiv")
        await noa.wait_for(lambda m: "Yes, I agree" in m.button_texts)
        await noa.press_data("c:y:hiv:en:forged_clinic")
        programme = files.config().programme("hiv")
        assert programme is not None
        await fill_form(noa, programme, HIV_PLAN)
        await noa.press("Send my form")
        sent = await noa.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        found = REFERENCE.search(sent.text)
        assert found is not None
        forged = found.group(0)
        for reference in (from_kent, from_web, unknown, forged):
            await group_notice(group, reference)

        # /mydata shows Kim the source of the link she came by
        kim.skip_sent()
        await kim.send("/mydata")
        copy = await kim.wait_for(lambda m: m.document is not None, timeout=10)
        assert copy.document is not None
        data = json.loads(copy.document.data)
        assert data["referrals"][0]["source"] == "kent"
        assert data["referrals"][0]["source_name"] == "Kent outpatient clinic"
        shown = [m.text or "" for m in kim.bot_messages]
        assert any("The link you came by: Kent outpatient clinic" in t for t in shown)

    # In the database: sealed source and a keyed tag for the two real sources, none for the rest
    for reference in (from_kent, from_web):
        route, sealed, tag = referral_columns(files, reference)
        assert route == "self"
        assert sealed is not None and tag is not None
        assert b"kent" not in sealed and b"web" not in sealed
    for reference in (unknown, forged):
        assert referral_columns(files, reference) == ("self", None, None)
    tags = {referral_columns(files, r)[2] for r in (from_kent, from_web)}
    assert len(tags) == 2
    # The group saw references only, never where anyone came from
    for message in group.messages:
        for text in (message.text or "", *message.edits):
            assert "kent" not in text.lower() and "Kent outpatient" not in text
            assert "no_such_place" not in text and "forged_clinic" not in text

    # The report counts per source and per route (threshold 1: every count shown)...
    config = files.config()
    hiv = config.programme("hiv")
    assert hiv is not None
    out = tmp_path / "report"
    made, _ = await make_report(await files.open_store(), [hiv], out, threshold=1)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert table_row(html, "hiv-source-kent")[:2] == ["Kent outpatient clinic", "1"]
    assert table_row(html, "hiv-source-web")[:2] == ["Our website", "1"]
    assert table_row(html, "hiv-source-community")[:2] == ["Community drop-in", "0"]
    assert table_row(html, "hiv-source-none")[:2] == ["no source (a plain link)", "2"]
    assert table_row(html, "hiv-route-self")[:2] == ["the person themselves", "4"]
    assert table_row(html, "hiv-route-professional")[:2] == [
        "a professional, on their behalf",
        "0",
    ]
    assert table_row(html, "hiv-route-staff")[1] == "0"
    # ...and with the usual threshold, small counts are hidden (and one more, so that the total
    # cannot give them away)
    out5 = tmp_path / "report5"
    await make_report(await files.open_store(), [hiv], out5, threshold=5)
    html5 = (out5 / "report.html").read_text(encoding="utf-8")
    assert table_row(html5, "hiv-source-kent")[1] == "&lt;5"
    assert table_row(html5, "hiv-source-none")[1] == "&lt;5"
    assert table_row(html5, "hiv-source-community")[1] == "0"
    assert table_row(html5, "hiv-route-self")[1] == "&lt;5"
    assert made.referrals == 4


def reminders(group: ScriptedGroup, reference: str) -> list[StoredMessage]:
    return [
        m
        for m in group.chat.messages.values()
        if m.from_bot
        and reference in (m.text or "")
        and GROUP_REMINDER in ((m.edits[0] if m.edits else None) or m.text or "")
    ]


def pending_reminders(files: BotFiles, reference: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        rows = db.execute(
            "SELECT o.due_at FROM outbox o JOIN referrals r ON r.id = o.referral_id"
            " WHERE r.reference = ? AND o.kind = 'notice_reminder' AND o.state = 'pending'",
            (reference,),
        ).fetchall()
    return [due for (due,) in rows]


def due_rows(files: BotFiles, now: datetime) -> int:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        row = db.execute(
            "SELECT count(*) FROM outbox WHERE state = 'pending' AND due_at <= ?", (to_text(now),)
        ).fetchone()
    return int(row[0])


def pending(files: BotFiles) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return db.execute("SELECT kind, due_at FROM outbox WHERE state = 'pending'").fetchall()


async def move_on(
    runtime: Runtime, clock: ManualClock, emulator: BotApiEmulator, files: BotFiles, by: timedelta
) -> None:
    """The bot's time moves on; its delivery worker is woken until nothing due is left in the
    outbox (drained, not slept on)."""
    clock.now += by
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while due_rows(files, clock.now):  # the database, not the emulator, says when it is done
        assert loop.time() < deadline, f"still due after 10 s: {pending(files)}"
        runtime.worker.wake()  # again each time: a wake while it finishes a round is cleared
        await asyncio.sleep(0.02)
    await emulator.settle()


async def test_an_urgent_referral_is_posted_again_on_the_urgent_clock(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    programme = files.config().programme("hiv")
    assert programme is not None
    assert programme.service_levels.urgent_claim_within_minutes == 30
    assert programme.service_levels.claim_within_hours == 24
    group = emulator.group(GROUP_ID, "Coordinators")
    ash, kai = emulator.user(5811, "Ash"), emulator.user(5812, "Kai")
    robin = emulator.user(5813, "Robin")
    clock = ManualClock()
    async with running(files, emulator, clock) as runtime:
        # Ash writes crisis words in the form: sent urgent
        await consent(ash)
        plan = {k: v for k, v in HIV_PLAN.items() if k != "change"}
        await fill_form(ash, programme, plan, stop_at="change")
        await ash.send("Honestly some days I want to die")
        await ash.wait_for(lambda m: "We want you to be safe." in m.text)
        await ash.press("Carry on with the form")
        await fill_form(ash, programme, plan)
        await ash.press("Send my form")
        sent = await ash.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        found = REFERENCE.search(sent.text)
        assert found is not None
        urgent = found.group(0)
        # Kai sends a plain form, then writes crisis words: urgent after sending
        late = await send_form(kai, files, "hiv")
        # Robin's is never urgent
        plain = await send_form(robin, files, "hiv")
        for reference in (urgent, late, plain):
            await group_notice(group, reference)
        await kai.send("I have been thinking about suicide")
        await kai.wait_for(lambda m: "We want you to be safe." in m.text)
        await group.wait_for(lambda m: m.text.startswith("URGENT") and late in m.text)

        notices = [m for m in group.messages if m.from_bot and urgent in (m.text or "")]
        assert notices[0].text.startswith("URGENT · New referral")

        # 29 minutes: nothing yet
        await move_on(runtime, clock, emulator, files, timedelta(minutes=29))
        assert reminders(group, urgent) == reminders(group, late) == []
        # 31 minutes: both urgent ones are posted again, urgent first in the message; not Robin's
        await move_on(runtime, clock, emulator, files, timedelta(minutes=2))
        assert len(reminders(group, urgent)) == 1
        assert len(reminders(group, late)) == 1
        assert reminders(group, urgent)[0].text.startswith(f"URGENT · {GROUP_REMINDER}")
        assert reminders(group, plain) == []
        # and again 30 minutes later, while nobody claims them
        await move_on(runtime, clock, emulator, files, timedelta(minutes=30))
        assert len(reminders(group, urgent)) == 2
        assert len(reminders(group, late)) == 2
        assert reminders(group, plain) == []
        # Robin's waits on the usual clock: one pending reminder, due 24 hours after sending
        assert len(pending_reminders(files, plain)) == 1

        # once claimed, the urgent clock stops for that referral
        cora = emulator.user(CORA, "Cora")
        await cora.send("/start")
        await cora.press("Claim", chat=group, message=reminders(group, urgent)[-1])
        await cora.wait_for(lambda m: m.text.startswith(f"Referral {urgent}"))
        assert pending_reminders(files, urgent) == []
        await move_on(runtime, clock, emulator, files, timedelta(minutes=31))
        assert len(reminders(group, urgent)) == 2
        assert len(reminders(group, late)) == 3  # Kai's still waits: posted again
        assert reminders(group, plain) == []
        # handed back unclaimed: a fresh notice at once, then the urgent clock again
        details = [m for m in cora.bot_messages if m.text.startswith(f"Referral {urgent}")]
        await cora.press("Unassign", message=details[-1])
        await cora.wait_for(lambda m: f"{urgent} is back in the queue" in m.text)
        await group.wait_for(
            lambda m: m.text.startswith("URGENT · New referral") and urgent in m.text
        )
        assert len(pending_reminders(files, urgent)) == 1
        await move_on(runtime, clock, emulator, files, timedelta(minutes=29))
        assert len(reminders(group, urgent)) == 2
        await move_on(runtime, clock, emulator, files, timedelta(minutes=2))
        assert len(reminders(group, urgent)) == 3
        await move_on(runtime, clock, emulator, files, timedelta(hours=22))
        assert len(reminders(group, plain)) == 1  # the usual clock, 24 hours after sending
