"""HL7 FHIR R4 for the export: the form as a Questionnaire, each referral as a response.

Built as plain JSON-ready dicts, then validated with the ``fhir.resources`` models (R4B, which
has the same Questionnaire and QuestionnaireResponse as R4) before anything is written:
``pip install 'peerdoor[export]'``.

Mapping of question kinds: single -> choice (answerOption codings), multi -> choice with
``repeats``, yesno -> boolean, text -> string (or text when it may be longer than 250
characters, with ``maxLength``), number -> integer, date -> date, info -> display. ``when``
becomes ``enableWhen`` (operator "=", any of the listed answers). Texts are in the programme's
first language. Codings use the system ``urn:peerdoor:<programme>:<question>`` and the option
id as code. A response carries the referral's reference as its identifier and no subject: the
person's identity stays with the service.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.errors import SetupError
from bot.ops.export import Exported
from conversations.forms import Programme, Question

_TYPES = {
    "single": "choice",
    "multi": "choice",
    "yesno": "boolean",
    "number": "integer",
    "date": "date",
    "info": "display",
}
LONG_TEXT = 250


#: An extension of a QuestionnaireResponse: "<group id>:<place>" for each peer support group the
#: person was offered on the referral (invited, asked, member, waiting, declined, left).
PEER_GROUP = "urn:peerdoor:peer-group"


def canonical(programme: Programme) -> str:
    return f"urn:peerdoor:questionnaire:{programme.id}"


def code_system(programme: Programme, question: Question) -> str:
    return f"urn:peerdoor:{programme.id}:{question.id}"


def _fhir_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]


def _full_url(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _coding(programme: Programme, question: Question, code: str) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": code_system(programme, question), "code": code}
    option = question.option(code)
    if option is not None:
        coding["display"] = programme.text(option.label, programme.default_language)
    return coding


def _item(programme: Programme, question: Question) -> dict[str, Any]:
    lang = programme.default_language
    kind = _TYPES.get(question.kind)
    if kind is None:  # text
        kind = "text" if question.max_length > LONG_TEXT else "string"
    item: dict[str, Any] = {
        "linkId": question.id,
        "text": programme.text(question.text, lang),
        "type": kind,
    }
    if question.answerable:
        item["required"] = question.required
    if question.kind == "multi":
        item["repeats"] = True
    if question.kind == "text":
        item["maxLength"] = question.max_length
    if question.options:
        item["answerOption"] = [
            {"valueCoding": _coding(programme, question, o.id)} for o in question.options
        ]
    if question.when is not None:
        source = programme.question(question.when.question)
        assert source is not None  # the config checks that `when` names an earlier question
        if source.kind == "yesno":
            conditions = [
                {"question": source.id, "operator": "=", "answerBoolean": value == "yes"}
                for value in question.when.any_of
            ]
        else:
            conditions = [
                {
                    "question": source.id,
                    "operator": "=",
                    "answerCoding": _coding(programme, source, value),
                }
                for value in question.when.any_of
            ]
        item["enableWhen"] = conditions
        if len(conditions) > 1:
            item["enableBehavior"] = "any"
    return item


def questionnaire(programme: Programme) -> dict[str, Any]:
    words = re.sub(r"[^A-Za-z0-9]", " ", programme.id).split()
    return {
        "resourceType": "Questionnaire",
        "id": _fhir_id(f"peerdoor-{programme.id}"),
        "url": canonical(programme),
        "name": "PeerdoorReferral" + "".join(w[:1].upper() + w[1:] for w in words),
        "title": programme.text(programme.name, programme.default_language),
        "status": "active",
        "language": programme.default_language,
        "subjectType": ["Patient"],
        "item": [_item(programme, q) for q in programme.form],
    }


def _answers(programme: Programme, question: Question, value: Any) -> list[dict[str, Any]]:
    match question.kind:
        case "single":
            return [{"valueCoding": _coding(programme, question, str(value))}]
        case "multi":
            values = value if isinstance(value, list) else [value]
            return [{"valueCoding": _coding(programme, question, str(v))} for v in values]
        case "yesno":
            return [{"valueBoolean": value == "yes"}]
        case "number":
            return [{"valueInteger": int(value)}]
        case "date":
            return [{"valueDate": str(value)}]
        case _:
            return [{"valueString": str(value)}]


def response(programme: Programme, item: Exported) -> dict[str, Any]:
    lang = programme.default_language
    items = []
    for question in programme.form:
        value = item.answers.get(question.id)
        if not question.answerable or value is None or value == []:
            continue  # not asked, skipped, "prefer not to say", or erased after verification
        items.append(
            {
                "linkId": question.id,
                "text": programme.text(question.text, lang),
                "answer": _answers(programme, question, value),
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": _fhir_id(item.reference),
        "identifier": {"system": "urn:peerdoor:reference", "value": item.reference},
        "questionnaire": canonical(programme),
        "status": "completed",
        "authored": _stamp(item.submitted_at),
    }
    if items:
        resource["item"] = items
    if item.groups:  # the peer support groups offered on this referral, and the place now
        resource["extension"] = [
            {"url": PEER_GROUP, "valueString": f"{group}:{place}"} for group, place in item.groups
        ]
    return resource


def bundle(programmes: Sequence[Programme], items: Sequence[Exported], now: datetime) -> dict:
    by_id = {p.id: p for p in programmes}
    entries = [
        {"fullUrl": _full_url(canonical(p)), "resource": questionnaire(p)} for p in programmes
    ]
    for item in items:
        programme = by_id[item.programme]
        entries.append(
            {
                "fullUrl": _full_url(f"urn:peerdoor:referral:{item.reference}"),
                "resource": response(programme, item),
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _stamp(now),
        "entry": entries,
    }


def validate(data: dict) -> None:
    """Check the bundle against the FHIR models; SetupError if they are not installed."""
    try:
        from fhir.resources.R4B.bundle import Bundle
    except ImportError as exc:
        raise SetupError(
            "the FHIR export needs the fhir.resources package to check its output: "
            "pip install 'peerdoor[export]' (or pip install 'fhir.resources>=8')"
        ) from exc
    Bundle.model_validate(data)
