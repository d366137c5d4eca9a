"""A small programme that uses every question kind, for unit tests of the intake machine."""

from __future__ import annotations

from typing import Any

from conversations import callbacks
from conversations.callbacks import DraftPress
from conversations.draft import Draft
from conversations.forms import Programme, ServiceConfig
from conversations.i18n import Catalog
from conversations.intake import Intake, Outcome
from conversations.prompts import Prompt


def loc(text: str) -> dict[str, str]:
    return {"en": text, "sv": f"[sv] {text}"}


def programme_data() -> dict[str, Any]:
    def question(qid: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"id": qid, "kind": kind, "text": loc(f"Question {qid}?"), **extra}

    def options(*ids: str, **flags: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": i, "label": loc(i.title()), **flags.get(i, {})} for i in ids]

    texts = {
        name: loc(f"{name} text")
        for name in (
            "name",
            "welcome",
            "privacy",
            "no_consent",
            "under_age",
            "next_steps",
            "response_time",
            "emergency",
            "complaints",
        )
    }
    return {
        "id": "test",
        "languages": ["en", "sv"],
        "min_age": 18,
        **texts,
        "form": [
            question("intro", "info"),
            question("name", "text", role="name", max_length=20),
            question("route", "single", options=options("chat", "phone")),
            question("phone", "text", when={"question": "route", "any_of": ["phone"]}),
            question(
                "age",
                "single",
                role="age",
                options=options("under18", "adult", under18={"under_age": True}),
            ),
            question("times", "multi", options=options("morning", "evening", "weekend")),
            question("pets", "number", minimum=0, maximum=20, required=False),
            question("start", "date", allow_future=True, required=False, skip_label="prefer_not"),
            question("voicemail", "yesno"),
            question("notes", "text", required=False),
        ],
    }


def make_intake(data: dict[str, Any] | None = None) -> tuple[Intake, Programme]:
    config = ServiceConfig.model_validate({"programmes": [data or programme_data()]})
    catalog = Catalog(
        {"en": {}, "sv": {"Question {number} of {total}": "Fråga {number} av {total}"}}
    )
    return Intake(config, catalog), config.programmes[0]


def press_of(prompt: Prompt, label: str) -> DraftPress:
    """The press a person makes by tapping the button labelled `label` (exact, or contained)."""
    buttons = [b for row in prompt.buttons for b in row]
    chosen = next((b for b in buttons if b.label == label), None) or next(
        (b for b in buttons if label in b.label), None
    )
    assert chosen is not None, f"no button {label!r} in {[b.label for b in buttons]}"
    press = callbacks.parse(chosen.data)
    assert isinstance(press, DraftPress), chosen.data
    return press


def last_prompt(outcome: Outcome) -> Prompt:
    assert outcome.prompts, f"no prompts (notice={outcome.notice!r})"
    return outcome.prompts[-1]


def current(outcome: Outcome) -> Draft:
    assert outcome.draft is not None
    return outcome.draft
