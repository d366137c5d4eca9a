"""The report counts the answers to questions marked `report = true` (issue 13, item 7): counts
kept at sending, per month, without a person or a referral; small numbers hidden."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.ops import report_html
from bot.ops.report import answer_scores, gather
from bot.services.submitting import count_reported
from conversations.forms import ServiceConfig
from storage import KeyRing, Store
from tests.unit.intake_helpers import programme_data

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def config(**changes: Any) -> ServiceConfig:
    data = programme_data()
    for question in data["form"]:
        if question["id"] in ("route", "times", "voicemail"):
            question["report"] = True
        if question["id"] in changes:
            question.update(changes[question["id"]])
    return ServiceConfig.model_validate({"programmes": [data]})


def test_only_choice_and_yes_no_questions_can_be_counted() -> None:
    with pytest.raises(ValidationError, match="only a choice or yes/no question"):
        config(notes={"report": True})


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    return await Store.open(tmp_path / "db.sqlite", KeyRing(KeyRing.generate()))


async def test_answers_are_counted_at_sending_and_reported_with_small_numbers_hidden(
    store: Store, tmp_path: Path
) -> None:
    programme = config().programmes[0]
    given = [
        {"route": "chat", "times": ["morning", "evening"], "voicemail": "yes", "notes": "Hi"},
        {"route": "chat", "times": ["morning"], "voicemail": "no"},
        {"route": "phone", "times": ["morning"], "voicemail": None},
    ]
    try:
        async with store.unit() as uow:
            for answers in given:
                await count_reported(uow, programme, "form", answers, T0)
            # another programme's counts stay apart; a later month is outside the period
            await uow.referrals.count_answer("elsewhere", "route", "chat", T0)
            await uow.referrals.count_answer(programme.id, "route", "chat", T0.replace(month=5))
        made = await gather(
            store,
            [programme],
            since=date(2026, 3, 1),
            until=date(2026, 3, 31),
            threshold=1,
            now=T0,
        )
        late = await gather(
            store,
            [programme],
            since=date(2026, 3, 1),
            until=date(2026, 3, 31),
            threshold=3,
            now=T0,
        )
    finally:
        await store.close()
    counted = {
        q.question_id: {s.answer: s.count for s in q.scores} for q in made.programmes[0].answers
    }
    assert counted == {
        "route": {"chat": 2, "phone": 1},
        "times": {"morning": 3, "evening": 1, "weekend": 0},
        "voicemail": {"yes": 1, "no": 1},
    }
    # nothing but counts on disk: no free text, no person
    with contextlib.closing(sqlite3.connect(tmp_path / "db.sqlite")) as db:
        columns = [c[1] for c in db.execute("PRAGMA table_info(answer_counts)")]
        answers = {a for (a,) in db.execute("SELECT answer FROM answer_counts")}
    assert columns == ["programme_tag", "question_id", "answer", "month", "count"]
    assert "Hi" not in answers
    section = report_html._answers(late.programmes[0], 3)
    assert 'id="test-answers-route-chat"><td>Chat</td><td class="n' in section
    assert "&lt;3" in section  # 2 and 1 are below the threshold of 3


def test_questions_not_marked_are_not_counted() -> None:
    programme = config().programmes[0]
    assert [q.question_id for q in answer_scores(programme, {}, 1)] == [
        "route",
        "times",
        "voicemail",
    ]
