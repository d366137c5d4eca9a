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
    when: Condition | None = None
    match: MatchField | None = Field(
        default=None,
        description=(
            "Which part of a supporter's profile this answer is matched against: gender "
            "(the gender asked for), languages, availability, setting (online or in person), "
            "area, interests. Supporters pick from the same options."
        ),
    )
    role: Literal["name", "age", "verification", "contact"] | None = Field(
        default=None,
        description=(
            "name: shown to the coordinator as how to address the person; age: checked against "
            "the programme's minimum age; verification: erased once a coordinator verifies."
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
        seen: dict[str, Question] = {}
        for question in self.form:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} is used twice")
            if question.when is not None:
                earlier = seen.get(question.when.question)
                if earlier is None:
                    raise ValueError(
                        f"question {question.id!r}: 'when' must name an earlier question, "
                        f"not {question.when.question!r}"
                    )
                allowed = (
                    {"yes", "no"} if earlier.kind == "yesno" else {o.id for o in earlier.options}
                )
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
        resource_ids = [r.id for r in self.signposting]
        if len(set(resource_ids)) != len(resource_ids):
            raise ValueError("signposting resource ids must be unique")
        if len(self.signposting) > 20:
            raise ValueError("at most 20 signposting resources per programme")
        self._check_sources()
        if self.coordinator_chat is not None and self.coordinator_chat >= 0:
            raise ValueError(
                "coordinator_chat must be a group id (a negative number such as -1001234567890)"
            )
        if not any(q.answerable for q in self.form):
            raise ValueError("the form needs at least one question that takes an answer")
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

    def starting_programme(self) -> Programme | None:
        """The programme a plain /start opens, or None when the person must choose."""
        if self.default_programme is not None:
            return self.programme(self.default_programme)
        return self.programmes[0] if len(self.programmes) == 1 else None


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
    for name in ("feedback", "closing_report"):
        for i, q in enumerate(getattr(programme, name)):
            fields.append((f"{name}[{i}] ({q.id}).text", q.text))
            if q.hint is not None:
                fields.append((f"{name}[{i}] ({q.id}).hint", q.hint))
            for j, o in enumerate(q.options):
                fields.append((f"{name}[{i}] ({q.id}).options[{j}] ({o.id}).label", o.label))
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
