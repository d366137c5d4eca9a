"""The shipped example config: it validates, and it keeps its promises to the people who read it.

`peerdoor init` copies bot/example_config.toml as a service's first config, so its form and texts
are what most services start from: discreet on a lock screen, plain, complete in every language.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config_file import load_config
from bot.errors import SetupError
from conversations.forms import Programme, Question, ServiceConfig, error_path

CONFIG_PATH = Path(__file__).resolve().parents[2] / "bot" / "example_config.toml"

PROGRAMME_TEXTS = (
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

# A lock screen shows a message's first line: none of these may be in it, not even inside a word
# ("hivmedicin", "ungdomsmottagning").
REVEALING = (
    "hiv",
    "aids",
    "diabet",
    "insulin",
    "diagnos",
    "positive",
    "positiv",
    "clinic",
    "klinik",
    "mottagning",
    "medication",
    "medicine",
    "medicin",
    "läkemedel",
    "treatment",
    "behandling",
    "condition",
    "sjukdom",
    "illness",
    "virus",
    "sexual",
    "sexuell",
    "test result",
    "status",
)

# Words of the practice that a person filling in the form should never read.
JARGON = (
    "mentee",
    "assessment",
    "assess",
    "verification",
    "verify",
    "eligib",
    "congratulation",
    "referral",
    "client",
    "service user",
    "bedömning",
    "verifiering",
    "grattis",
    "remiss",
    "brukare",
    "klient",
)

PHONE_STEPS = ("phone", "call_times", "voicemail_ok")
READINESS = ("change", "how_help", "hope_to_get", "where_after", "other_support")


def _raw() -> dict[str, Any]:
    with CONFIG_PATH.open("rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def config() -> ServiceConfig:
    return ServiceConfig.model_validate(_raw())


@pytest.fixture(scope="module")
def hiv(config: ServiceConfig) -> Programme:
    programme = config.programme("hiv")
    assert programme is not None
    return programme


def _question(programme: Programme, question_id: str) -> Question:
    question = programme.question(question_id)
    assert question is not None, f"{programme.id} has no question {question_id!r}"
    return question


def _texts(programme: Programme) -> list[tuple[str, dict[str, str]]]:
    """Every translatable text of a programme, with where it is."""
    found = [(name, getattr(programme, name)) for name in PROGRAMME_TEXTS]
    for q in programme.form:
        found.append((f"{q.id}.text", q.text))
        if q.hint is not None:
            found.append((f"{q.id}.hint", q.hint))
        found += [(f"{q.id}.{o.id}.label", o.label) for o in q.options]
    return found


def _visible(programme: Programme, answers: dict[str, str | list[str]]) -> list[str]:
    """The ids of the steps a person sees, given their answers (a `when` on an unanswered or
    hidden question hides the step)."""
    shown: list[str] = []
    for q in programme.form:
        if q.when is not None:
            given = answers.get(q.when.question) if q.when.question in shown else None
            chosen = set(given) if isinstance(given, list) else {given}
            if not chosen & set(q.when.any_of):
                continue
        shown.append(q.id)
    return shown


def _reveals(line: str) -> list[str]:
    lowered = line.lower()
    return [w for w in REVEALING if w in lowered]


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?:])\s+|\n+", text)
    return [p for p in parts if re.search(r"[^\W\d_]", p)]


def _syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    count = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(count, 1)


def _reading_ease(text: str) -> float:
    """Flesch reading ease, roughly: 60-70 is plain English, 80 and up is easy (about age 11)."""
    sentences = _sentences(text)
    words = re.findall(r"[A-Za-z']+", text)
    syllables = sum(_syllables(w) for w in words)
    return 206.835 - 1.015 * len(words) / len(sentences) - 84.6 * syllables / len(words)


# --- It is a valid config with the programmes the docs promise -----------------------------------


def test_the_example_validates_with_two_programmes(config: ServiceConfig) -> None:
    assert [p.id for p in config.programmes] == ["hiv", "diabetes"]
    assert config.default_programme == "hiv"
    starting = config.starting_programme()
    assert starting is not None
    assert starting.id == "hiv"


def test_programme_settings(config: ServiceConfig, hiv: Programme) -> None:
    assert hiv.languages == ["en", "sv"]
    assert hiv.timezone == "Europe/London"
    assert hiv.min_age == 18
    diabetes = config.programme("diabetes")
    assert diabetes is not None
    assert diabetes.languages == ["en"]
    assert diabetes.min_age == 16
    assert 5 <= len(diabetes.form) <= 7


def test_the_hiv_form_uses_every_kind_of_step(hiv: Programme) -> None:
    kinds = {q.kind for q in hiv.form}
    assert kinds >= {"single", "multi", "text", "date", "yesno", "info"}
    assert hiv.form[0].kind == "info", "the form opens by saying how skipping and /back work"
    assert 18 <= len(hiv.form) <= 24
    start_date = _question(hiv, "start_date")
    assert start_date.kind == "date"
    assert start_date.allow_future
    assert not start_date.required


def test_the_hiv_form_follows_the_referral_practice(hiv: Programme) -> None:
    expected = [
        "name",
        "contact_route",
        *PHONE_STEPS,
        "age_band",
        "area",
        "clinic",
        "medication",
        *READINESS,
        "support_type",
        "supporter_gender",
        "languages",
        "availability",
        "setting",
        "interests",
        "heard_from",
    ]
    ids = [q.id for q in hiv.form]
    assert [i for i in ids if i in expected] == expected, "steps missing or out of order"
    roles = {q.id: q.role for q in hiv.form if q.role is not None}
    assert roles == {
        "name": "name",
        "contact_route": "contact",
        "phone": "contact",
        "call_times": "contact",
        "voicemail_ok": "contact",
        "age_band": "age",
        "clinic": "verification",
        "medication": "verification",
    }
    assert _question(hiv, "name").max_length <= 50
    assert _question(hiv, "phone").max_length <= 25
    kinds = {q.id: q.kind for q in hiv.form}
    assert kinds["call_times"] == kinds["languages"] == kinds["availability"] == "multi"
    assert kinds["voicemail_ok"] == "yesno"
    assert kinds["support_type"] == kinds["setting"] == kinds["supporter_gender"] == "single"


# --- Conditional steps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "sees_phone_steps"),
    [
        ("chat", False),
        ("phone", True),
        ("either", True),
        (None, False),
    ],
)
def test_phone_steps_only_show_when_a_call_is_safe(
    config: ServiceConfig, route: str | None, sees_phone_steps: bool
) -> None:
    for programme in config.programmes:
        answers = {} if route is None else {"contact_route": route}
        if route == "either" and _question(programme, "contact_route").option("either") is None:
            continue
        shown = _visible(programme, answers)
        phone_steps = [i for i in PHONE_STEPS if programme.question(i) is not None]
        assert phone_steps
        for step in phone_steps:
            assert (step in shown) is sees_phone_steps, (programme.id, route, step)


def test_every_contact_detail_waits_for_the_route(config: ServiceConfig) -> None:
    for programme in config.programmes:
        route = _question(programme, "contact_route")
        assert route.required, "the bot must know how it is safe to get in touch"
        assert route.options[0].id == "chat", "the safest choice comes first"
        for q in programme.form:
            if q.role == "contact" and q.id != "contact_route":
                assert q.when is not None
                assert q.when.question == "contact_route"
                assert "chat" not in q.when.any_of


def test_supporter_gender_is_only_asked_for_one_to_one(hiv: Programme) -> None:
    assert "supporter_gender" not in _visible(hiv, {"support_type": "group"})
    for wanted in ("one_to_one", "both", "not_sure"):
        assert "supporter_gender" in _visible(hiv, {"support_type": wanted})
    gender = _question(hiv, "supporter_gender")
    assert not gender.required
    assert gender.skip_label == "prefer_not"


# --- Asking gently -------------------------------------------------------------------------------


def test_age_bands_stop_younger_people_at_the_minimum_age(config: ServiceConfig) -> None:
    for programme in config.programmes:
        age = _question(programme, "age_band")
        assert age.kind == "single"
        assert age.role == "age"
        assert age.required
        young = [o for o in age.options if o.under_age]
        assert len(young) == 1
        assert young[0] is age.options[0]
        for language in programme.languages:
            assert str(programme.min_age) in young[0].label[language]
            for option in age.options[1:]:
                low = int(re.findall(r"\d+", option.label[language])[0])
                assert low >= programme.min_age


def test_checking_questions_can_be_declined_and_say_why(hiv: Programme) -> None:
    for question_id in ("clinic", "medication"):
        q = _question(hiv, question_id)
        assert q.kind == "text"
        assert not q.required
        assert q.skip_label == "prefer_not"
        assert q.hint is not None
        assert "check the form came from you" in q.hint["en"]
        assert "delete it once we have checked" in q.hint["en"]
        assert "raderar" in q.hint["sv"]


def test_readiness_questions_are_optional_free_text(hiv: Programme) -> None:
    for question_id in READINESS:
        q = _question(hiv, question_id)
        assert q.kind == "text"
        assert not q.required
        assert 300 <= q.max_length <= 500


def test_only_a_few_questions_cannot_be_skipped(hiv: Programme) -> None:
    required = [q.id for q in hiv.form if q.answerable and q.required]
    answerable = [q for q in hiv.form if q.answerable]
    assert len(required) * 2 < len(answerable), "the intro says most questions can be skipped"


# --- Texts ---------------------------------------------------------------------------------------


def test_every_text_is_in_every_language(config: ServiceConfig) -> None:
    for programme in config.programmes:
        for where, texts in _texts(programme):
            assert sorted(texts) == sorted(programme.languages), (programme.id, where)
            assert all(t.strip() for t in texts.values()), (programme.id, where)


def test_swedish_texts_are_translated_not_copied(hiv: Programme) -> None:
    copied = [
        where
        for where, texts in _texts(hiv)
        if re.search(r"[A-Za-z]{3}", texts["en"]) and texts["en"] == texts["sv"]
    ]
    assert copied == []


def test_the_revealing_word_check_works() -> None:
    assert _reveals("A group for people living with HIV") == ["hiv"]
    assert _reveals("Vilken hivmedicin tar du?") == ["hiv", "medicin"]
    assert _reveals("Ungdomsmottagningen") == ["mottagning"]
    assert _reveals("Hello, and thank you for getting in touch.") == []


@pytest.mark.parametrize("field", PROGRAMME_TEXTS)
def test_first_lines_are_safe_on_a_lock_screen(config: ServiceConfig, field: str) -> None:
    for programme in config.programmes:
        for language, text in getattr(programme, field).items():
            first = text.strip().splitlines()[0]
            assert _reveals(first) == [], f"{programme.id}.{field}.{language}: {first!r}"


def test_the_welcome_says_what_the_service_is_after_the_first_line(config: ServiceConfig) -> None:
    """Discreet is not vague: the second line onwards names who the service is for."""
    for programme in config.programmes:
        for text in programme.welcome.values():
            rest = "\n".join(text.strip().splitlines()[1:])
            assert _reveals(rest), programme.id


def test_the_privacy_notice_says_what_why_who_how_long_and_how_to_delete(
    config: ServiceConfig,
) -> None:
    promises = {
        "en": (
            "What we ask",
            "Why",
            "only the coordinators",
            "30 days",
            "1 year",
            "not end-to-end encrypted",
            "/cancel",
            "/delete",
        ),
        "sv": (
            "Vad vi frågar om",
            "Varför",
            "bara samordnarna",
            "30 dagar",
            "1 år",
            "inte end-to-end-krypterade",
            "/cancel",
            "/delete",
        ),
    }
    for programme in config.programmes:
        for language, text in programme.privacy.items():
            missing = [p for p in promises[language] if p not in text]
            assert missing == [], (programme.id, language)


def test_emergency_numbers_fit_the_country(config: ServiceConfig, hiv: Programme) -> None:
    for programme in config.programmes:
        assert all(n in programme.emergency["en"] for n in ("999", "NHS 111", "116 123"))
    assert all(n in hiv.emergency["sv"] for n in ("112", "1177", "90101"))
    assert "0800 1111" in hiv.under_age["en"]


def test_texts_read_naturally_and_placeholders_are_marked_in_comments(
    config: ServiceConfig,
) -> None:
    for programme in config.programmes:
        assert "example.org" in programme.complaints["en"]
        assert "within" in programme.response_time["en"]
        for where, texts in _texts(programme):
            for text in texts.values():
                assert "replace" not in text.lower(), where
                assert "TODO" not in text, where
    comments = [line for line in CONFIG_PATH.read_text("utf-8").splitlines() if "REPLACE" in line]
    assert any("complaints@example.org" in line for line in comments)
    assert len(comments) >= 4


def test_plain_words(config: ServiceConfig) -> None:
    for programme in config.programmes:
        for where, texts in _texts(programme):
            for language, text in texts.items():
                lowered = text.lower()
                assert [w for w in JARGON if w in lowered] == [], (programme.id, where, language)
                for sentence in _sentences(text):
                    assert len(sentence.split()) <= 30, (programme.id, where, sentence)


def test_questions_fit_a_phone_screen(config: ServiceConfig) -> None:
    for programme in config.programmes:
        for q in programme.form:
            for language in programme.languages:
                limit = 300 if q.kind == "info" else 100
                assert len(q.text[language]) <= limit, (q.id, language)
                if q.hint is not None:
                    assert len(q.hint[language]) <= 200, (q.id, language)
                for option in q.options:
                    assert len(option.label[language]) <= 40, (q.id, option.id)
        for field in PROGRAMME_TEXTS:
            for text in getattr(programme, field).values():
                assert len(text) <= 1200, (programme.id, field)


def test_english_is_easy_to_read(config: ServiceConfig) -> None:
    for programme in config.programmes:
        questions = " ".join(
            f"{q.text['en']} {(q.hint or {}).get('en', '')}" for q in programme.form
        )
        assert _reading_ease(questions) >= 80, programme.id
        for field in PROGRAMME_TEXTS[1:]:
            if field != "response_time":
                assert _reading_ease(getattr(programme, field)["en"]) >= 70, (programme.id, field)


# --- A broken copy fails with a message that names the problem -----------------------------------


def _step(data: dict[str, Any], programme_id: str, question_id: str) -> tuple[int, int]:
    p = next(i for i, prog in enumerate(data["programmes"]) if prog["id"] == programme_id)
    form = data["programmes"][p]["form"]
    q = next(i for i, step in enumerate(form) if step["id"] == question_id)
    return p, q


def _when_names_a_later_question(data: dict[str, Any]) -> tuple[str, str]:
    p, q = _step(data, "hiv", "phone")
    data["programmes"][p]["form"][q]["when"] = {"question": "setting", "any_of": ["online"]}
    return f"programmes[{p}]", "question 'phone': 'when' must name an earlier question"


def _when_names_an_unknown_answer(data: dict[str, Any]) -> tuple[str, str]:
    p, q = _step(data, "hiv", "voicemail_ok")
    data["programmes"][p]["form"][q]["when"]["any_of"] = ["phone", "fax"]
    return f"programmes[{p}]", "names unknown answers ['fax'] of 'contact_route'"


def _missing_swedish_text(data: dict[str, Any]) -> tuple[str, str]:
    p, q = _step(data, "hiv", "contact_route")
    del data["programmes"][p]["form"][q]["text"]["sv"]
    return f"programmes[{p}]", f"form[{q}] (contact_route).text has no text for language(s) sv"


def _missing_swedish_label(data: dict[str, Any]) -> tuple[str, str]:
    p, q = _step(data, "hiv", "setting")
    del data["programmes"][p]["form"][q]["options"][1]["label"]["sv"]
    return f"programmes[{p}]", f"form[{q}] (setting).options[1] (in_person).label has no text"


def _unknown_kind(data: dict[str, Any]) -> tuple[str, str]:
    p, q = _step(data, "hiv", "age_band")
    data["programmes"][p]["form"][q]["kind"] = "slider"
    return f"programmes[{p}].form[{q}].kind", "Input should be 'single'"


def _misspelt_setting(data: dict[str, Any]) -> tuple[str, str]:
    p, q = _step(data, "hiv", "area")
    data["programmes"][p]["form"][q]["requried"] = False
    return f"programmes[{p}].form[{q}].requried", "Extra inputs are not permitted"


def _options_on_a_text_question(data: dict[str, Any]) -> tuple[str, str]:
    p, q = _step(data, "diabetes", "hope_to_get")
    data["programmes"][p]["form"][q]["options"] = [{"id": "a", "label": {"en": "A"}}]
    return f"programmes[{p}].form[{q}]", "a 'text' question takes no options"


def _unknown_time_zone(data: dict[str, Any]) -> tuple[str, str]:
    p, _ = _step(data, "diabetes", "name")
    data["programmes"][p]["timezone"] = "Europe/Gloucester"
    return f"programmes[{p}].timezone", "unknown time zone 'Europe/Gloucester'"


def _unknown_default_programme(data: dict[str, Any]) -> tuple[str, str]:
    data["default_programme"] = "hvi"
    return "", "default_programme 'hvi' is not one of the programmes ['hiv', 'diabetes']"


@pytest.mark.parametrize(
    "breakage",
    [
        _when_names_a_later_question,
        _when_names_an_unknown_answer,
        _missing_swedish_text,
        _missing_swedish_label,
        _unknown_kind,
        _misspelt_setting,
        _options_on_a_text_question,
        _unknown_time_zone,
        _unknown_default_programme,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_broken_copy_names_the_problem(
    breakage: Callable[[dict[str, Any]], tuple[str, str]],
) -> None:
    original = _raw()
    data = copy.deepcopy(original)
    path, message = breakage(data)
    with pytest.raises(ValidationError) as failure:
        ServiceConfig.model_validate(data)
    problems = [(error_path(e["loc"]), e["msg"]) for e in failure.value.errors()]
    assert any(p == path and message in m for p, m in problems), problems
    ServiceConfig.model_validate(original)


def test_check_config_points_at_the_broken_line(tmp_path: Path) -> None:
    """What `peerdoor check-config` tells an operator who mistyped a kind in their copy."""
    text = CONFIG_PATH.read_text("utf-8")
    step = 'id = "age_band"\nkind = "single"'
    broken = text.replace(step, step.replace("single", "slider"), 1)
    assert broken != text
    line = next(i for i, row in enumerate(broken.splitlines(), 1) if "slider" in row)
    path = tmp_path / "config.toml"
    path.write_text(broken, "utf-8")
    with pytest.raises(SetupError) as failure:
        load_config(path)
    assert f"line {line}: programmes[0].form[" in str(failure.value)
    assert "].kind: Input should be 'single'" in str(failure.value)
