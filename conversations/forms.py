"""Programmes and their referral forms, as data.

A service describes each programme (an HIV peer programme, a diabetes group, ...) in its config
file. This module validates that description: every question has a kind, texts in each of the
programme's languages, and optional rules (`when`, limits). Nothing here reads files or clocks.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from conversations.group_schedule import GroupConfig

# Deep-link payloads allow 1-64 of A-Za-z0-9_- ; we keep ids short so callback data stays small.
Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,24}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
Localized = dict[LanguageCode, Annotated[str, StringConstraints(min_length=1, max_length=3000)]]

MatchField = Literal["gender", "languages", "availability", "setting", "area", "interests"]
#: Profile fields chosen from a form question's options; the others are typed words.
CHOICE_MATCHES: tuple[str, ...] = ("gender", "languages", "availability", "setting")
QuestionKind = Literal["single", "multi", "text", "number", "date", "yesno", "info"]
ANSWER_KINDS: frozenset[str] = frozenset({"single", "multi", "text", "number", "date", "yesno"})
MAX_TEXT_LENGTH = 2000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """One choice of a single- or multiple-choice question."""

    id: Slug
    label: Localized
    under_age: bool = Field(
        default=False,
        description="Choosing this option means the person is below the minimum age.",
    )
    any: bool = Field(
        default=False,
        description="Matching: this option means 'no preference' ('I do not mind', 'either').",
    )


class Condition(_Strict):
    """Show a question only when an earlier answer matches."""

    question: Slug
    any_of: list[str] = Field(min_length=1, description="Option ids (or 'yes'/'no') that show it.")


class Question(_Strict):
    """One step of the form. `info` steps only show text and a Continue button."""

    id: Slug
    kind: QuestionKind
    text: Localized
    hint: Localized | None = Field(default=None, description="A short line under the question.")
    required: bool = True
    skip_label: Literal["skip", "prefer_not"] = "skip"
    options: list[Option] = Field(default_factory=list)
    max_length: int = Field(default=500, ge=1, le=MAX_TEXT_LENGTH)
    minimum: int | None = None
    maximum: int | None = None
    allow_future: bool = Field(default=False, description="Dates: may the date be after today?")
    report: bool = Field(
        default=False,
        description="Count its answers in `peerdoor report` (a choice or yes/no question only; "
        "counts per month, small numbers hidden).",
    )
    when: Condition | None = None
    match: MatchField | None = Field(
        default=None,
        description=(
            "Which part of a supporter's profile this answer is matched against: gender "
            "(the gender asked for), languages, availability, setting (online or in person), "
            "area, interests. Supporters pick from the same options."
        ),
    )
    role: Literal["name", "age", "verification", "contact", "referrer", "consent"] | None = Field(
        default=None,
        description=(
            "name: shown to the coordinator as how to address the person; age: checked against "
            "the programme's minimum age; verification: erased once a coordinator verifies. "
            "In a professional's questionnaire: referrer: about the professional themselves "
            "(kept apart from the person's answers); consent: the yes/no 'the person agreed to "
            "this referral' (No ends the form, keeping nothing)."
        ),
    )

    @model_validator(mode="after")
    def _kind_rules(self) -> Question:
        if self.kind in ("single", "multi"):
            if len(self.options) < 2:
                raise ValueError(f"a '{self.kind}' question needs at least 2 options")
            ids = [o.id for o in self.options]
            if len(set(ids)) != len(ids):
                raise ValueError("option ids must be unique within a question")
            if len(self.options) > 20:
                raise ValueError("at most 20 options fit on a phone screen")
        elif self.options:
            raise ValueError(f"a '{self.kind}' question takes no options")
        if self.kind == "number":
            if self.minimum is None or self.maximum is None:
                raise ValueError("a 'number' question needs 'minimum' and 'maximum'")
            if self.minimum > self.maximum:
                raise ValueError("'minimum' must not be greater than 'maximum'")
        if self.kind == "info" and (self.required is False or self.when is not None):
            pass  # info screens may be conditional; 'required' has no meaning for them
        if self.match in ("area", "interests") and self.kind != "text":
            raise ValueError(f"matching on '{self.match}' needs a 'text' question")
        if self.match in CHOICE_MATCHES and self.kind not in ("single", "multi"):
            raise ValueError(f"matching on '{self.match}' needs a 'single' or 'multi' question")
        if self.report and self.kind not in ("single", "multi", "yesno"):
            raise ValueError("only a choice or yes/no question can be counted ('report')")
        if self.role == "age" and self.kind not in ("single", "number"):
            raise ValueError("the 'age' role fits a 'single' (age bands) or 'number' question")
        return self

    @property
    def answerable(self) -> bool:
        return self.kind in ANSWER_KINDS

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


class Resource(_Strict):
    """An entry of the signposting directory: a service to point someone to."""

    id: Slug
    name: Localized
    details: Localized = Field(description="What it offers and how to reach it.")


SourceKind = Literal["clinic", "community", "professional", "web", "print", "event", "other"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
#: Deep-link payloads: at most 64 characters of A-Za-z0-9_- (Telegram's rule).
MAX_START_PAYLOAD = 64


class Source(_Strict):
    """A way into a programme: a clinic, a community group, a web page... Each has its own link,
    ``t.me/<bot>?start=<programme>-<source>``, and is counted in the report.

    Which clinic someone attends is sensitive: a referral keeps its source sealed, with a keyed
    tag for counting; the coordinators' group and the logs never see it."""

    id: Slug = Field(
        description="Short and neutral (it is printed in the link on cards: no diagnosis or "
        "clinic words anyone could read), unique in the programme."
    )
    name: Localized = Field(description="For the report, the exports and the person's /mydata.")
    kind: SourceKind = Field(description="What it is: " + ", ".join(SOURCE_KINDS) + ".")


#: What happens when a questionnaire is sent (bot/services/submissions.py has one handler each).
#: ``referral`` is the programme's own ``form``; the others are named questionnaires.
Purpose = Literal["referral", "professional", "volunteer", "assessment"]
#: The outcomes an assessment may end with (its `outcome` question's option ids; issue #15).
ASSESSMENT_OUTCOMES = ("match", "group", "defer", "not_suitable")
PURPOSES: tuple[str, ...] = get_args(Purpose)
#: The name of the programme's own referral form among its questionnaires.
MAIN_FORM = "form"


class Questionnaire(_Strict):
    """A named list of questions besides the referral form (a professional's referral form, a
    volunteer's application...): the same question kinds, asked by the same dialog (progress,
    Back, review, Exit). What happens when it is sent depends on its ``purpose``."""

    purpose: Purpose = Field(
        description="What sending it does: "
        + ", ".join(PURPOSES[1:])
        + " (a professional's referral, docs/guides/professionals.md). `referral` is the "
        "programme's own form and is refused here."
    )
    link: bool = Field(
        default=False,
        description="Whether the link `t.me/BOT?start=PROGRAMME-NAME` opens it (after its own "
        "welcome and privacy notice).",
    )
    welcome: Localized | None = Field(
        default=None, description="What it is for, in two or three short lines (needs `link`)."
    )
    privacy: Localized | None = Field(
        default=None,
        description="Its privacy notice: what is kept, why, who sees it (needs `link`).",
    )
    updates: bool = Field(
        default=False,
        description="professional: the referrer gets one discreet 'received' and one 'contact "
        "made' message (never anything the person says).",
    )
    form: list[Question] = Field(
        min_length=1,
        max_length=60,
        description="Its questions, like the programme's form: one [[...form]] block each.",
    )

    @model_validator(mode="after")
    def _rules(self) -> Questionnaire:
        if self.purpose == "referral":
            raise ValueError("purpose 'referral' is the programme's own form")
        if self.link and (self.welcome is None or self.privacy is None):
            raise ValueError("a questionnaire opened by a link needs 'welcome' and 'privacy'")
        _check_questions(self.form)
        if not any(q.answerable for q in self.form):
            raise ValueError("the form needs at least one question that takes an answer")
        for q in self.form:
            if q.match is not None or q.role == "verification":
                raise ValueError(f"question {q.id!r}: 'match' and 'verification' are for the form")
        consent = [q for q in self.form if q.role == "consent"]
        if self.purpose == "professional" and (
            len(consent) != 1
            or consent[0].kind != "yesno"
            or not consent[0].required
            or consent[0].when is not None
        ):
            raise ValueError(
                "a professional's questionnaire needs one required yes/no question with "
                "role = 'consent' ('the person agreed to this referral'), asked every time"
            )
        if self.purpose != "professional" and (consent or self.updates):
            raise ValueError("'consent' questions and 'updates' are for a professional's form")
        if self.purpose == "assessment":
            if self.link:
                raise ValueError("an assessment is filled in by the coordinator: no 'link'")
            outcome = next((q for q in self.form if q.id == "outcome"), None)
            wrong = (
                [o.id for o in outcome.options if o.id not in ASSESSMENT_OUTCOMES]
                if (outcome is not None)
                else []
            )
            if outcome is None or outcome.kind != "single" or not outcome.required or wrong:
                raise ValueError(
                    "an assessment needs a required 'single' question with id 'outcome' whose "
                    "options are among " + ", ".join(ASSESSMENT_OUTCOMES)
                )
        return self


class ServiceLevels(_Strict):
    """How quickly the service promises to act; the bot reminds when it slips."""

    claim_within_hours: float = Field(default=24, gt=0, le=24 * 30)
    contact_within_days: float = Field(default=3, gt=0, le=90)
    urgent_claim_within_minutes: float = Field(
        default=30,
        gt=0,
        le=24 * 60,
        description="An urgent referral nobody has claimed is posted again this often.",
    )

    def claim_window(self, urgent: bool) -> timedelta:
        """How long a referral may wait unclaimed before the group is reminded."""
        if urgent:
            return timedelta(minutes=self.urgent_claim_within_minutes)
        return timedelta(hours=self.claim_within_hours)


class Checkins(_Strict):
    """Short check-ins for people who agreed to them (days and weeks may be fractions)."""

    waiting_after_days: float = Field(
        default=7, gt=0, le=365, description="First check-in while the form still waits."
    )
    waiting_every_days: float = Field(
        default=14, gt=0, le=365, description="Then again this often, while it still waits."
    )
    deferred_after_weeks: float = Field(
        default=6, gt=0, le=104, description="'The door stays open', once, after a deferral."
    )


class Sessions(_Strict):
    """Sessions between a supporter and the person they support."""

    remind_before_hours: list[Annotated[float, Field(gt=0, le=24 * 14)]] = Field(
        default_factory=lambda: [24.0, 1.0],
        max_length=4,
        description="Remind the supporter (and the person, if they asked) this long before.",
    )
    log_after_hours: float = Field(
        default=1.5,
        gt=0,
        le=24 * 7,
        description="After the start, ask the supporter whether it happened.",
    )
    length_minutes: int = Field(default=60, ge=10, le=600, description="For the calendar file.")

    @field_validator("remind_before_hours")
    @classmethod
    def _distinct(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            raise ValueError("remind_before_hours: each time only once")
        return sorted(value, reverse=True)


class Talk(_Strict):
    """A supporter and the person they support writing to each other through the bot."""

    enabled: bool = Field(
        default=True,
        description=(
            "After a hand-over, the supporter and the person can write to each other through "
            "the bot, without seeing each other's Telegram account."
        ),
    )
    holder_reads: bool = Field(
        default=False,
        description=(
            "The coordinator holding the referral can read these messages. The person is told "
            "so before they write; messages written while this was off stay unread."
        ),
    )


class Agreement(_Strict):
    """A confidentiality agreement the person reads and accepts in the bot (issue #15)."""

    version: str = Field(
        pattern=r"^[A-Za-z0-9._-]{1,20}$",
        description=(
            "Change it whenever the text changes: people who accepted an older version are "
            "asked again before their next hand-over. Letters, digits, '.', '_', '-'."
        ),
    )
    text: Localized = Field(
        description="The agreement, per language, in plain words. Its first line is neutral."
    )
    when: Literal["before_handover"] = Field(
        default="before_handover",
        description=(
            "When it is asked: `before_handover` (when a coordinator taps Match; the hand-over "
            "waits until the person has accepted the current version)."
        ),
    )


class QuietHours(_Strict):
    """No news or check-ins between these local times (in the programme's time zone)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start.replace(tzinfo=None) == self.end.replace(tzinfo=None):
            raise ValueError("quiet_hours: start and end must differ")
        return self


class Retention(_Strict):
    """How long the service keeps things; older ones are erased (crypto-shredded) daily."""

    drafts_days: int = Field(default=30, ge=1, le=3650, description="Unfinished forms.")
    closed_days: int = Field(
        default=365, ge=1, le=3650, description="Referrals, counted from when they were closed."
    )


class Crisis(_Strict):
    """Phrases that mean someone may be in danger now, and what to tell them at once."""

    phrases: dict[LanguageCode, list[Annotated[str, StringConstraints(min_length=3)]]] = Field(
        default_factory=dict,
        description="Per language; matched case-insensitively as whole words or phrases.",
    )
    resources: Localized | None = Field(
        default=None, description="Crisis lines to show at once (defaults to `emergency`)."
    )


class TrainingItem(_Strict):
    """A training module, or a check, a peer supporter needs before they are matched."""

    id: Slug = Field(description="Short and never renamed once something is recorded against it.")
    name: Localized = Field(description="What coordinators see, in each language.")


class Programme(_Strict):
    """A peer support programme: its texts, its form and its rules."""

    id: Slug
    name: Localized
    languages: list[LanguageCode] = Field(min_length=1)
    timezone: str = "Europe/London"
    min_age: int = Field(default=18, ge=0, le=120)
    welcome: Localized = Field(description="What the service is, in two or three short lines.")
    privacy: Localized = Field(description="What is collected, why, who sees it, how long.")
    no_consent: Localized = Field(description="Other ways to reach the service without the bot.")
    under_age: Localized = Field(description="Where younger people can get support.")
    next_steps: Localized = Field(description="What happens after the form is sent.")
    response_time: Localized = Field(description="For example 'within 3 working days'.")
    emergency: Localized
    complaints: Localized
    form: list[Question] = Field(min_length=1)
    coordinators: list[int] = Field(
        default_factory=list, description="Telegram user ids of the programme's coordinators."
    )
    coordinator_chat: int | None = Field(
        default=None,
        description="The coordinators' Telegram group (send /groupid there to learn it). "
        "Without one, each coordinator is notified in their private chat.",
    )
    signposting: list[Resource] = Field(default_factory=list)
    sources: list[Source] = Field(
        default_factory=list,
        max_length=200,
        description="Ways in (clinics, groups, web pages), each with its own link and card.",
    )
    service_levels: ServiceLevels = Field(default_factory=ServiceLevels)
    retention: Retention = Field(default_factory=Retention)
    checkins: Checkins = Field(default_factory=Checkins)
    quiet_hours: QuietHours | None = Field(
        default=None, description='For example { start = "21:00", end = "09:00" }; none if unset.'
    )
    crisis: Crisis = Field(default_factory=Crisis)
    sessions: Sessions = Field(default_factory=Sessions)
    talk: Talk = Field(
        default_factory=Talk, description="Messages between a supporter and the person."
    )
    agreement: Agreement | None = Field(
        default=None, description="A confidentiality agreement the person accepts in the bot."
    )
    feedback: list[Question] = Field(
        default_factory=list,
        max_length=10,
        description="The short survey for the person at the end of support (like the form).",
    )
    closing_report: list[Question] = Field(
        default_factory=list,
        max_length=10,
        description="What the supporter is asked at the end of support.",
    )
    training_modules: list[TrainingItem] = Field(
        default_factory=list,
        max_length=30,
        description="The training a volunteer completes before they are suggested for anyone.",
    )
    checks: list[TrainingItem] = Field(
        default_factory=list,
        max_length=20,
        description="The checks a volunteer needs before they are matched (references, a "
        "background check, a signed confidentiality agreement).",
    )
    supervision_every_days: int | None = Field(
        default=None,
        ge=1,
        le=365,
        description="How often each active supporter should have supervision. One who is "
        "overdue is marked in match suggestions and in /applicants. Unset: not tracked.",
    )
    questionnaires: dict[Slug, Questionnaire] = Field(
        default_factory=dict,
        description="Other forms by name, e.g. [programmes.questionnaires.refer] for "
        "professionals (docs/develop/add-a-question.md).",
    )
    groups: list[GroupConfig] = Field(
        default_factory=list,
        max_length=50,
        description="Peer support groups defined by the operator (coordinators can add more "
        "in the bot).",
    )
    group_wish: Condition | None = Field(
        default=None,
        description="Which answer of the form means the person would like a group, for example "
        '{ question = "support_type", any_of = ["group", "both"] }. Without it, every referral '
        "of a programme with groups may be offered one.",
    )
    group_link_minutes_before: int = Field(
        default=30,
        ge=5,
        le=24 * 60,
        description="How long before an online group meeting its link is sent to each member, "
        "privately.",
    )
    privacy_version: str = Field(
        default="1",
        min_length=1,
        max_length=20,
        description="Change it whenever the privacy notice changes: people see it again.",
    )

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like 'Europe/London'"
            ) from exc
        return value

    @model_validator(mode="after")
    def _form_rules(self) -> Programme:
        _check_questions(self.form)
        resource_ids = [r.id for r in self.signposting]
        if len(set(resource_ids)) != len(resource_ids):
            raise ValueError("signposting resource ids must be unique")
        if len(self.signposting) > 20:
            raise ValueError("at most 20 signposting resources per programme")
        self._check_sources()
        self._check_questionnaires()
        if self.coordinator_chat is not None and self.coordinator_chat >= 0:
            raise ValueError(
                "coordinator_chat must be a group id (a negative number such as -1001234567890)"
            )
        if not any(q.answerable for q in self.form):
            raise ValueError("the form needs at least one question that takes an answer")
        if any(q.role in ("referrer", "consent") for q in self.form):
            raise ValueError("roles 'referrer' and 'consent' are for a professional's form")
        matched = [q.match for q in self.form if q.match is not None]
        if len(set(matched)) != len(matched):
            raise ValueError("each 'match' field may be used by one question of the form only")
        for name in ("feedback", "closing_report"):
            survey: list[Question] = getattr(self, name)
            ids = [q.id for q in survey]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name}: question ids must be unique")
            for q in survey:
                if q.when is not None or q.role is not None or q.match is not None:
                    raise ValueError(
                        f"{name} ({q.id}): 'when', 'role' and 'match' are for the form"
                    )
        for name in ("training_modules", "checks"):
            items: list[TrainingItem] = getattr(self, name)
            ids = [item.id for item in items]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name}: ids must be unique")
        self._check_groups()
        self._check_languages()
        return self

    def _check_groups(self) -> None:
        ids = [g.id for g in self.groups]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"group ids must be unique within a programme: {twice}")
        for group in self.groups:
            if group.language not in self.languages:
                raise ValueError(
                    f"group {group.id!r}: language {group.language!r} is not one of the "
                    f"programme's languages {self.languages}"
                )
        if self.group_wish is not None:
            asked = self.question(self.group_wish.question)
            if asked is None or asked.kind not in ("single", "multi", "yesno"):
                raise ValueError(
                    f"group_wish: {self.group_wish.question!r} must be a choice or yes/no "
                    "question of the form"
                )
            allowed = {"yes", "no"} if asked.kind == "yesno" else {o.id for o in asked.options}
            unknown = sorted(set(self.group_wish.any_of) - allowed)
            if unknown:
                raise ValueError(f"group_wish names unknown answers {unknown} of {asked.id!r}")

    def _check_languages(self) -> None:
        wanted = set(self.languages)
        for path, texts in _localized_fields(self):
            missing = sorted(wanted - set(texts))
            if missing:
                raise ValueError(f"{path} has no text for language(s) {', '.join(missing)}")

    def _check_sources(self) -> None:
        ids = [s.id for s in self.sources]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"source ids must be unique within a programme: {twice}")
        for source in self.sources:
            if len(start_payload(self.id, source.id)) > MAX_START_PAYLOAD:
                raise ValueError(
                    f"source {source.id!r}: '{self.id}-{source.id}' is longer than the "
                    f"{MAX_START_PAYLOAD} characters a Telegram link allows; use a shorter id"
                )

    def _check_questionnaires(self) -> None:
        if MAIN_FORM in self.questionnaires:
            raise ValueError(f"questionnaires: {MAIN_FORM!r} is the name of the programme's form")
        clash = sorted(set(self.questionnaires) & {s.id for s in self.sources})
        if clash:
            raise ValueError(f"questionnaires and sources share names {clash}: their links clash")
        for name in self.questionnaires:
            if len(start_payload(self.id, name)) > MAX_START_PAYLOAD:
                raise ValueError(
                    f"questionnaire {name!r}: its link is too long; use a shorter name"
                )

    def questionnaire(self, name: str) -> Questionnaire | None:
        """A named questionnaire (None for the programme's own form or an unknown name)."""
        return self.questionnaires.get(name)

    def way_in(self, tail: str | None) -> tuple[Source | None, str]:
        """What the end of a link (``<programme>-<tail>``, or the way in a consent button
        carries) names: a questionnaire with ``link = true`` (no source), or a source and the
        questionnaire it opens. Anything else (forged, or removed from the config) is dropped:
        no source, the programme's own form."""
        named = self.questionnaire(tail or "")
        if tail and named is not None and named.link:
            return None, tail
        source = self.source(tail)
        return source, self.questionnaire_for(source)

    def questionnaire_for(self, source: Source | None) -> str:
        """What a source's link opens: a professional's source opens the professional
        questionnaire (if the programme has one), every other the programme's own form."""
        if source is not None and source.kind == "professional":
            for name, found in self.questionnaires.items():
                if found.purpose == "professional":
                    return name
        return MAIN_FORM

    def purpose(self, name: str) -> str | None:
        """What sending the questionnaire ``name`` does; None if there is no such one."""
        if name == MAIN_FORM:
            return "referral"
        found = self.questionnaires.get(name)
        return found.purpose if found is not None else None

    def asking(self, name: str) -> Programme | None:
        """The programme as the dialog of questionnaire ``name`` sees it: its ``form`` (and
        welcome and privacy notice) are the questionnaire's. The programme's own form is named
        ``form``. None if there is no such questionnaire (it was removed from the config)."""
        if name == MAIN_FORM:
            return self
        found = self.questionnaires.get(name)
        if found is None:
            return None
        update: dict[str, object] = {"form": found.form}
        if found.welcome is not None:
            update["welcome"] = found.welcome
        if found.privacy is not None:
            update["privacy"] = found.privacy
        return self.model_copy(update=update)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.form if q.id == question_id), None)

    def source(self, source_id: str | None) -> Source | None:
        """The configured source with this id; None for none or an unknown (or forged) one."""
        if not source_id:
            return None
        return next((s for s in self.sources if s.id == source_id), None)

    def matching(self, field: str) -> Question | None:
        """The form question a supporter's profile field is matched against, if any."""
        return next((q for q in self.form if q.match == field), None)

    def text(self, texts: dict[str, str], language: str) -> str:
        """The text in `language`, else in the programme's default language."""
        return texts.get(language) or texts[self.default_language]


BotUsername = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")]


class BotProfile(_Strict):
    """What Telegram shows about the bot itself. Keep it neutral: it may be seen by others."""

    username: BotUsername | None = Field(
        default=None,
        description="The bot's @username without the @ (from @BotFather), for the links printed "
        "on cards by `peerdoor cards`. The bot itself does not need it.",
    )

    description: dict[LanguageCode, Annotated[str, StringConstraints(max_length=512)]] = Field(
        default_factory=dict, description="Shown in an empty chat, before /start."
    )
    short_description: dict[LanguageCode, Annotated[str, StringConstraints(max_length=120)]] = (
        Field(default_factory=dict, description="Shown on the bot's profile and in shares.")
    )


class Limits(_Strict):
    """Caps per person, so one account cannot flood the service (docs/guides/coordinators.md).

    A person past a cap gets a kind message; crisis words still mark their referral urgent."""

    relays_per_hour: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Messages one referrer can send their coordinator in an hour.",
    )
    failed_joins_per_day: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Wrong /join codes one account can try in a day (UTC).",
    )


class ServiceConfig(_Strict):
    """The whole config file: one or more programmes."""

    default_programme: Slug | None = None
    bot: BotProfile = Field(default_factory=BotProfile)
    limits: Limits = Field(
        default_factory=Limits,
        description="Caps per person, so that one account cannot flood the service.",
    )
    programmes: list[Programme] = Field(min_length=1)

    @model_validator(mode="after")
    def _programme_rules(self) -> ServiceConfig:
        ids = [p.id for p in self.programmes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"programme ids must be unique: {duplicates}")
        for programme in self.programmes:
            for source in programme.sources:
                if start_payload(programme.id, source.id) in ids:
                    raise ValueError(
                        f"programme {programme.id!r}, source {source.id!r}: its link would open "
                        f"the programme '{programme.id}-{source.id}'; rename one of them"
                    )
        if self.bot.username is not None and not self.bot.username.lower().endswith("bot"):
            raise ValueError(
                f"bot.username {self.bot.username!r}: a Telegram bot's username ends in 'bot'"
            )
        if self.default_programme is not None and self.default_programme not in ids:
            raise ValueError(
                f"default_programme {self.default_programme!r} is not one of the programmes {ids}"
            )
        return self

    def programme(self, programme_id: str) -> Programme | None:
        return next((p for p in self.programmes if p.id == programme_id), None)

    def entry(self, payload: str | None) -> tuple[Programme | None, Source | None]:
        """Read a /start payload, ``<programme>`` or ``<programme>-<source>``.

        Ids may contain '-' themselves, so the longest programme id that fits wins. An unknown
        source is dropped (the programme's form still opens); an unknown programme gives None.
        """
        if not payload:
            return None, None
        fitting = [p for p in self.programmes if payload == p.id or payload.startswith(p.id + "-")]
        if not fitting:
            return None, None
        programme = max(fitting, key=lambda p: len(p.id))
        return programme, programme.source(payload[len(programme.id) + 1 :])

    def opens(self, payload: str | None) -> tuple[Programme | None, Source | None, str]:
        """Like entry(), and which questionnaire the link opens: ``<programme>-<name>`` opens
        a questionnaire with ``link = true``; a source of kind ``professional`` opens the
        programme's professional questionnaire; anything else the programme's own form."""
        programme, _source = self.entry(payload)
        if programme is None:
            return None, None, MAIN_FORM
        return programme, *programme.way_in((payload or "")[len(programme.id) + 1 :])

    def starting_programme(self) -> Programme | None:
        """The programme a plain /start opens, or None when the person must choose."""
        if self.default_programme is not None:
            return self.programme(self.default_programme)
        return self.programmes[0] if len(self.programmes) == 1 else None


def _check_questions(questions: list[Question]) -> None:
    """Ids unique; a `when` names an earlier choice question and its real answers."""
    seen: dict[str, Question] = {}
    for question in questions:
        if question.id in seen:
            raise ValueError(f"question id {question.id!r} is used twice")
        if question.when is not None:
            earlier = seen.get(question.when.question)
            if earlier is None:
                raise ValueError(
                    f"question {question.id!r}: 'when' must name an earlier question, "
                    f"not {question.when.question!r}"
                )
            allowed = {"yes", "no"} if earlier.kind == "yesno" else {o.id for o in earlier.options}
            if earlier.kind not in ("single", "multi", "yesno"):
                raise ValueError(
                    f"question {question.id!r}: 'when' needs a choice or yes/no question"
                )
            unknown = sorted(set(question.when.any_of) - allowed)
            if unknown:
                raise ValueError(
                    f"question {question.id!r}: 'when' names unknown answers {unknown} "
                    f"of {earlier.id!r}"
                )
        seen[question.id] = question


def start_payload(programme_id: str, source_id: str | None = None) -> str:
    """What follows ``?start=`` in a programme's (or one of its sources') link."""
    return programme_id if source_id is None else f"{programme_id}-{source_id}"


def _localized_fields(programme: Programme) -> list[tuple[str, dict[str, str]]]:
    fields: list[tuple[str, dict[str, str]]] = []
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
    ):
        fields.append((name, getattr(programme, name)))
    for i, q in enumerate(programme.form):
        fields.append((f"form[{i}] ({q.id}).text", q.text))
        if q.hint is not None:
            fields.append((f"form[{i}] ({q.id}).hint", q.hint))
        for j, o in enumerate(q.options):
            fields.append((f"form[{i}] ({q.id}).options[{j}] ({o.id}).label", o.label))
    for qname, questionnaire in programme.questionnaires.items():
        where = f"questionnaires.{qname}"
        for part in ("welcome", "privacy"):
            given = getattr(questionnaire, part)
            if given is not None:
                fields.append((f"{where}.{part}", given))
        fields += _question_texts(f"{where}.form", questionnaire.form)
    for name in ("feedback", "closing_report"):
        for i, q in enumerate(getattr(programme, name)):
            fields.append((f"{name}[{i}] ({q.id}).text", q.text))
            if q.hint is not None:
                fields.append((f"{name}[{i}] ({q.id}).hint", q.hint))
            for j, o in enumerate(q.options):
                fields.append((f"{name}[{i}] ({q.id}).options[{j}] ({o.id}).label", o.label))
    for name in ("training_modules", "checks"):
        for k, item in enumerate(getattr(programme, name)):
            fields.append((f"{name}[{k}] ({item.id}).name", item.name))
    if programme.agreement is not None:  # every language of the programme (issue #15)
        fields.append(("agreement.text", programme.agreement.text))
    for k, src in enumerate(programme.sources):
        fields.append((f"sources[{k}] ({src.id}).name", src.name))
    for k, r in enumerate(programme.signposting):
        fields.append((f"signposting[{k}] ({r.id}).name", r.name))
        fields.append((f"signposting[{k}] ({r.id}).details", r.details))
    for k, g in enumerate(programme.groups):
        fields.append((f"groups[{k}] ({g.id}).name", g.name))
        if g.venue is not None:
            fields.append((f"groups[{k}] ({g.id}).venue", g.venue))
    return fields


def _question_texts(where: str, questions: list[Question]) -> list[tuple[str, dict[str, str]]]:
    fields: list[tuple[str, dict[str, str]]] = []
    for i, q in enumerate(questions):
        fields.append((f"{where}[{i}] ({q.id}).text", q.text))
        if q.hint is not None:
            fields.append((f"{where}[{i}] ({q.id}).hint", q.hint))
        for j, o in enumerate(q.options):
            fields.append((f"{where}[{i}] ({q.id}).options[{j}] ({o.id}).label", o.label))
    return fields


_LOC_PART = re.compile(r"^\d+$")


def error_path(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a readable field path: programmes[0].form[3].kind."""
    path = ""
    for part in loc:
        if isinstance(part, int) or _LOC_PART.match(str(part)):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path
