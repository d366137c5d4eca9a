"""`peerdoor export`: CSV, JSON and FHIR hold exactly the answers; files 0600; audited."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from bot.config_file import load_config
from bot.errors import SetupError
from bot.ops import export
from bot.ops.reports_cli import make_export
from conversations.forms import ServiceConfig
from storage import KeyRing, Store
from tests.unit.report_seed import EXAMPLE_CONFIG, W10

NOW = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)

#: The seeded referrals: programme, answers (as the bot stores them), and whether verified.
SEEDED: list[tuple[str, dict[str, Any]]] = [
    (
        "hiv",
        {
            "name": "Robin Ålund",
            "contact_route": "phone",
            "phone": "+44 7700 900123",
            "call_times": ["mornings", "evenings"],
            "voicemail_ok": "no",
            "age_band": "25_34",
            "area": 'Brighton, "Kemptown"; near the sea',
            "clinic": "Lawson Unit",
            "medication": None,
            "change": '=HYPERLINK("http://x")  and a second line\nhere',
            "support_type": "group",
            "languages": ["en"],
            "availability": ["weekends"],
            "start_date": "2025-04-14",
            "setting": "either",
            "interests": "Art",
            "heard_from": "friend",
        },
    ),
    (
        "hiv",
        {
            "name": "Sam",
            "contact_route": "chat",
            "age_band": "50_64",
            "area": "Hove",
            "clinic": "Claude Nicol",  # erased below: the referral is verified
            "medication": "something",
            "change": "company",
            "support_type": "one_to_one",
            "supporter_gender": "woman",
            "languages": ["sv", "other"],
            "availability": ["weekday_day", "weekday_eve"],
            "start_date": None,
            "setting": "in_person",
            "interests": None,
            "heard_from": "online",
        },
    ),
    ("diabetes", {"name": "Kim", "contact_route": "chat"}),
    ("retired", {"name": "from a programme no longer in the config"}),
]
VERIFIED = 1  # index into SEEDED
VERIFICATION = ("clinic", "medication")


def expected_answers(i: int) -> dict[str, Any]:
    answers = dict(SEEDED[i][1])
    if i == VERIFIED:
        for key in VERIFICATION:
            answers.pop(key)
    return answers


async def seed(path: Path, key: bytes) -> list[str]:
    store = await Store.open(path, KeyRing(key))
    references = []
    try:
        async with store.unit() as uow:
            coordinator = await uow.people.create(1, W10)
            for n, (programme, answers) in enumerate(SEEDED):
                at = W10 + timedelta(days=n)
                person = await uow.people.create(100 + n, at)
                raw = json.dumps(answers, sort_keys=True).encode()
                referral = await uow.referrals.create(person, programme, raw, n == 0, at)
                references.append(referral.reference)
                if n == VERIFIED:
                    assert await uow.referrals.claim(referral, coordinator, at)
                    kept = json.dumps(expected_answers(n), sort_keys=True).encode()
                    await uow.referrals.replace_answers(referral, kept, at)
                    await uow.referrals.mark(
                        referral, verified_at=at + timedelta(hours=2), verified_by=coordinator.id
                    )
    finally:
        await store.close()
    return references


@pytest.fixture
def config() -> ServiceConfig:
    return load_config(EXAMPLE_CONFIG)


async def run_export(
    tmp_path: Path, config: ServiceConfig, fmt: str
) -> tuple[bytes, list[str], Store]:
    key = KeyRing.generate()
    database = tmp_path / "peerdoor.db"
    references = await seed(database, key)
    store = await Store.open(database, KeyRing(key))
    out = tmp_path / f"out.{fmt}"
    count = await make_export(store, list(config.programmes), fmt, out, now=NOW, close=False)
    assert count == 3  # the retired programme's referral is not exported
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    async with store.unit() as uow:
        last = (await uow.audit.entries(limit=1))[-1]
    assert (last.action, last.detail, last.reference) == (f"export:{fmt}", "referrals=3", None)
    with pytest.raises(SetupError, match="already exists"):
        await make_export(store, list(config.programmes), fmt, out, now=NOW, close=False)
    return out.read_bytes(), references, store


async def test_csv_holds_exactly_the_answers(tmp_path: Path, config: ServiceConfig) -> None:
    data, references, store = await run_export(tmp_path, config, "csv")
    await store.close()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    questions = export.question_columns(config.programmes)
    assert header == [*export.FIELDS, *questions, export.GROUPS_COLUMN]
    assert "start" not in header and "about_you" not in header  # info steps take no answer
    records = [dict(zip(header, row, strict=True)) for row in body]
    assert [r["reference"] for r in records] == references[:3]
    assert [r["programme"] for r in records] == ["hiv", "hiv", "diabetes"]
    assert records[0]["urgent"] == "true" and records[1]["urgent"] == "false"
    assert records[1]["status"] == "claimed"
    assert records[1]["verified_at"] == (W10 + timedelta(days=1, hours=2)).isoformat()
    assert records[0]["submitted_at"] == "2025-03-03T09:00:00+00:00"
    assert records[0]["closed_at"] == ""
    for i, record in enumerate(records):
        answers = expected_answers(i)
        for question in questions:
            value = answers.get(question)
            if value is None:
                want = ""
            elif isinstance(value, list):
                want = "; ".join(value)
            else:
                want = str(value)
            if want.startswith(("=", "+", "-", "@")):
                want = "'" + want  # not run as a formula by a spreadsheet
            assert record[question] == want, (i, question)
    assert records[0]["phone"] == "'+44 7700 900123"
    assert records[0]["change"].startswith("'=HYPERLINK")
    assert records[1]["clinic"] == "" and records[1]["medication"] == ""  # erased
    assert b"no longer in the config" not in data


async def test_json_holds_exactly_the_answers(tmp_path: Path, config: ServiceConfig) -> None:
    data, references, store = await run_export(tmp_path, config, "json")
    await store.close()
    records = json.loads(data)
    assert [r["reference"] for r in records] == references[:3]
    for i, record in enumerate(records):
        assert record["answers"] == expected_answers(i)
        assert set(record) == {*export.FIELDS, "answers", "peer_groups"}
    assert records[0]["urgent"] is True
    assert records[1]["verified_at"] is not None and "clinic" not in records[1]["answers"]
    assert records[1]["answers"]["interests"] is None  # skipped: null, not left out


async def test_fhir_bundle_validates_and_matches(tmp_path: Path, config: ServiceConfig) -> None:
    data, references, store = await run_export(tmp_path, config, "fhir")
    await store.close()
    bundle = Bundle.model_validate(json.loads(data))
    assert bundle.type == "collection"
    resources = [e.resource for e in bundle.entry]
    forms = [r for r in resources if isinstance(r, Questionnaire)]
    answers = [r for r in resources if isinstance(r, QuestionnaireResponse)]
    assert len(forms) == 2 and len(answers) == 3
    by_url = {q.url: q for q in forms}

    for programme in config.programmes:
        form = by_url[f"urn:peerdoor:questionnaire:{programme.id}"]
        assert [i.linkId for i in form.item] == [q.id for q in programme.form]
        for item, question in zip(form.item, programme.form, strict=True):
            want = {
                "single": "choice",
                "multi": "choice",
                "yesno": "boolean",
                "number": "integer",
                "date": "date",
                "info": "display",
            }.get(question.kind, "string" if question.max_length <= 250 else "text")
            assert item.type == want, question.id
            assert bool(item.repeats) == (question.kind == "multi")
            codes = [o.valueCoding.code for o in item.answerOption or []]
            assert codes == [o.id for o in question.options]
            if question.answerable:
                assert item.required == question.required
            if question.when is None:
                assert item.enableWhen is None
            else:
                assert {w.question for w in item.enableWhen} == {question.when.question}
                got = [w.answerCoding.code if w.answerCoding else w.answerBoolean
                       for w in item.enableWhen]  # fmt: skip
                assert got == list(question.when.any_of)
    hiv = config.programme("hiv")
    assert hiv is not None
    phone = next(i for i in by_url["urn:peerdoor:questionnaire:hiv"].item if i.linkId == "phone")
    assert phone.enableBehavior == "any"

    assert [r.identifier.value for r in answers] == references[:3]
    for i, response in enumerate(answers):
        programme = config.programme(SEEDED[i][0])
        assert programme is not None
        assert response.questionnaire == f"urn:peerdoor:questionnaire:{programme.id}"
        assert response.status == "completed"
        assert response.subject is None and response.source is None and response.author is None
        assert response.authored.isoformat() == (W10 + timedelta(days=i)).isoformat()
        given = {}
        for item in response.item:
            question = programme.question(item.linkId)
            assert question is not None
            values = []
            for answer in item.answer:
                if question.kind in ("single", "multi"):
                    assert (
                        answer.valueCoding.system == f"urn:peerdoor:{programme.id}:{question.id}"
                    )
                    option = question.option(answer.valueCoding.code)
                    assert option is not None
                    assert answer.valueCoding.display == option.label["en"]
                    values.append(answer.valueCoding.code)
                elif question.kind == "yesno":
                    values.append("yes" if answer.valueBoolean else "no")
                elif question.kind == "date":
                    values.append(answer.valueDate.isoformat())
                else:
                    values.append(answer.valueString)
            given[item.linkId] = values if question.kind == "multi" else values[0]
        want = {k: v for k, v in expected_answers(i).items() if v is not None}
        assert given == want


async def test_fhir_numbers_are_integers(tmp_path: Path) -> None:
    """A number question (not in the shipped form) becomes an integer item and answer."""
    from bot.ops import fhir

    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
        'id = "area"\nkind = "text"\nmatch = "area"',
        'id = "area"\nkind = "number"\nminimum = 0\nmaximum = 99',
        1,
    )
    path = tmp_path / "numbers.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    hiv = config.programme("hiv")
    assert hiv is not None
    item = export.Exported("PD-0000AA", "hiv", "submitted", False, NOW, None, None, None, None,
                           {"area": 42})  # fmt: skip
    bundle = fhir.bundle([hiv], [item], NOW)
    fhir.validate(bundle)
    parsed = Bundle.model_validate(bundle)
    form, response = (e.resource for e in parsed.entry)
    assert next(i for i in form.item if i.linkId == "area").type == "integer"
    assert response.item[0].answer[0].valueInteger == 42
