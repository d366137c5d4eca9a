"""The initial assessment (issue #15), through the real bot against the emulator.

A programme declares an assessment (a named questionnaire with purpose "assessment"). The holder
of a referral at "Assessing" fills it in with /assess, one question at a time in their private
chat; the answers are sealed (not in plaintext on disk, in the log or the group), shown in the
referral, and the outcome is a code for reports. Someone who does not hold it, or a referral not
at "Assessing", gets a kind refusal and no draft.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.ops.report import gather
from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import COLE, GROUP_ID, write_config
from tests.e2e.harness import BotFiles, drained, fill_form, in_process
from tests.e2e.test_supporters_match import contacted_referral

SUITABILITY = "Ready, HERON-ASSESS-CANARY, wants a walking buddy"
ASSESSMENT = """
[programmes.questionnaires.assessment]
purpose = "assessment"

[[programmes.questionnaires.assessment.form]]
id = "ready"
kind = "yesno"
text.en = "Do they still want peer support now?"
text.sv = "Vill personen fortfarande ha stöd nu?"

[[programmes.questionnaires.assessment.form]]
id = "suitability"
kind = "text"
text.en = "Notes on suitability"
text.sv = "Anteckningar om lämplighet"

[[programmes.questionnaires.assessment.form]]
id = "outcome"
kind = "single"
text.en = "Outcome of the assessment"
text.sv = "Bedömningens utfall"
options = [
  { id = "match", label.en = "Match with a supporter", label.sv = "Matcha med en stödperson" },
  { id = "group", label.en = "A group", label.sv = "En grupp" },
  { id = "defer", label.en = "Defer with signposting", label.sv = "Vänta, med tips" },
  { id = "not_suitable", label.en = "Not suitable", label.sv = "Inte lämpligt" },
]
"""
NOT_QUESTIONNAIRE = "\n[programmes.sessions]\n"


def assessment_config(folder: Path) -> Path:
    path = write_config(folder)
    text = path.read_text(encoding="utf-8")
    assert NOT_QUESTIONNAIRE in text
    path.write_text(text.replace(NOT_QUESTIONNAIRE, ASSESSMENT + NOT_QUESTIONNAIRE, 1), "utf-8")
    return path


def outcomes(files: BotFiles) -> list[str]:
    with contextlib.closing(sqlite3.connect(files.database)) as db:
        return [str(r[0]) for r in db.execute("SELECT outcome FROM assessments ORDER BY id")]


async def test_the_holder_fills_in_the_assessment_and_it_is_sealed_and_shown(
    tmp_path: Path, emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    files = BotFiles(tmp_path, config_path=assessment_config(tmp_path))
    programme = files.config().programme("hiv")
    assert programme is not None
    view = programme.asking("assessment")
    assert view is not None
    async with in_process(files, emulator) as runtime:
        robin, cora, reference, status = await contacted_referral(emulator, files)

        await cora.send(f"/assess {reference}")  # not at "Assessing" yet
        await cora.wait_for(lambda m: "only for a referral you hold" in m.content)
        await cora.press("Assessing", message=status)
        await cora.wait_for(lambda m: f"{reference} is now assessing" in m.content)

        cole = emulator.user(COLE, "Cole")  # a coordinator, but not the holder
        await cole.send(f"/assess {reference}")
        await cole.wait_for(lambda m: "only for a referral you hold" in m.content)

        cora.skip_sent()
        await cora.send(f"/assess {reference}")
        plan = {"ready": "Yes", "suitability": SUITABILITY, "outcome": "Match with a supporter"}
        asked = await fill_form(cora, view, plan)
        assert asked == ["ready", "suitability", "outcome"]
        await cora.press("Send my form", contains=True)
        await cora.wait_for(lambda m: f"The assessment of {reference} is saved" in m.content)
        assert outcomes(files) == ["match"]

        await cora.send(f"/referral {reference}")
        details = await cora.wait_for(
            lambda m: m.content.startswith(f"Referral {reference}") and "Assessment" in m.content
        )
        assert "match with a peer supporter" in details.content
        assert SUITABILITY in details.content
        assert details.protect_content
        await drained(emulator)
        report = await gather(
            runtime.store, [programme], since=None, until=date.today(), now=datetime.now(UTC)
        )
        counted = report.programmes[0].relationship
        assert counted["assessment:match"] == 1 and counted["assessment:defer"] == 0

        await robin.send("/mydata")  # the person's copy has it
        copy = await robin.wait_for(lambda m: "Your coordinator's assessment" in m.content)
        assert f"suitability: {SUITABILITY}" in copy.content and "outcome: match" in copy.content
        await robin.send("/delete")  # and their erasure takes it
        await robin.wait_for(lambda m: m.content.startswith("Delete everything?"))
        await robin.press("Yes, delete everything")
        await robin.wait_for(lambda m: "Everything we held about you is deleted" in m.content)
        await drained(emulator)
        assert outcomes(files) == []

    assert SUITABILITY.encode() not in files.raw_bytes()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("peerdoor"))
    assert f"assessment.saved ref={reference} outcome=match" in logged
    assert "HERON-ASSESS-CANARY" not in logged
    group = emulator.group(GROUP_ID)
    assert not any("HERON" in m.content for m in group.bot_messages)
    # the person reads it only in their own copy of their data (/mydata), nowhere else
    shown = [m for m in robin.bot_messages if "HERON" in m.content]
    assert shown and all("Your coordinator's assessment" in m.content for m in shown)
