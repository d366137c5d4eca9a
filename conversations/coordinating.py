"""What a coordinator is in the middle of, as a dialog: a note, a message or a supporter's name
being typed; signposting resources ticked before a deferral is sent; a supporter picked and the
answers to share before a hand-over is offered; a role's removal waiting for "yes".

Pure: the service (bot/services/casework.py, bot/services/matchmaking.py) reads the state from
the "casework" frame of the coordinator's dialog stack, checks the press against the
coordinator's role, the screen the dialog shows (`engine.is_current`) and the referral's rules
(which need the store), calls a step here, then
carries out the outcome in the same transaction: the effect first (a note, a message, a
deferral, an offer, a removal), then the new state (None ends the frame), then the screens.
An effect that cannot be carried out (the supporter is gone, the offer was made already)
leaves the state as it was. Nothing here reads the store, a clock or Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from conversations import callbacks, casework, screens, supporting
from conversations.answers import Answer
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.matching import Suggestion
from conversations.prompts import Prompt, esc

Step = Literal["note", "message", "match", "defer", "choose", "revoke"]
#: The steps that wait for typed text: a note, a message to the referrer, a supporter's name.
TYPED: tuple[Step, ...] = ("note", "message", "match")
_TYPED_BY_NAME: dict[str, Literal["note", "message", "match"]] = {
    "note": "note",
    "message": "message",
    "match": "match",
}


class CaseState(BaseModel):
    """The "casework" frame. ``reference`` is the referral's (for "revoke": the id of the
    person whose role is to go); the other fields belong to one step each."""

    model_config = ConfigDict(extra="ignore")

    pending: Step
    reference: str = ""
    picked: list[str] = []  # defer: signposting ids, in the directory's order
    suggested: list[str] = []  # choose: supporter person ids, as shown
    names: list[str] = []
    chosen: int = -1
    share: list[str] = []  # choose: question ids, in the form's order
    role: str = ""  # revoke
    programme: str = ""

    @model_validator(mode="before")
    @classmethod
    def _older(cls, data: Any) -> Any:
        """The shapes the release before this one stored in the "staff" frame."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        pending = str(data.get("pending", data.get("action", "")))
        if pending == "match:offer":
            pending = "choose"
        elif pending.startswith("revoke:") and pending.count(":") == 2:
            pending, data["role"], data["programme"] = pending.split(":")
        data["pending"] = pending
        return data

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def parse(cls, raw: bytes | None) -> CaseState | None:
        """The state, or None when there is none (or it cannot be read: it is dropped)."""
        if not raw:
            return None
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            return None


@dataclass(frozen=True)
class Context:
    """What the dialog may know: the referral's programme and the coordinator's language.
    ``answers`` are the referral's, read only for the match steps."""

    programme: Programme | None
    language: str
    _: Translate
    answers: dict[str, Answer] = field(default_factory=dict)
    screen: int = 0  # the number a screen shown now takes (the person's next one: DialogState)


# -- effects: what the service carries out ------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """A typed note, message to the referrer, or the name of a supporter outside the bot."""

    step: Step
    reference: str
    text: str


@dataclass(frozen=True)
class Defer:
    reference: str
    resources: list[str]


@dataclass(frozen=True)
class Offer:
    reference: str
    supporter: str  # person id
    name: str
    share: list[str]


@dataclass(frozen=True)
class Revoke:
    target: str  # person id
    role: str
    programme: str


Effect = Write | Defer | Offer | Revoke


@dataclass
class Outcome:
    """`state` is the new state (None: the frame ends); `changed` whether to store it."""

    state: CaseState | None
    changed: bool = True
    effect: Effect | None = None
    prompts: list[Prompt] = field(default_factory=list)
    replace: Prompt | None = None
    notice: str | None = None
    keep_buttons: bool = False


def stale(state: CaseState | None, _: Translate, keep_buttons: bool = False) -> Outcome:
    """A press that belongs to nothing the coordinator is doing now: kind words, no change."""
    return Outcome(
        state, changed=False, notice=screens.expired_notice(_), keep_buttons=keep_buttons
    )


# -- the steps ----------------------------------------------------------------------------------


def ask(action: str, reference: str, ctx: Context) -> Outcome:
    """ "Add a note", "Write to them", "Type a name" or "Defer": what is asked next."""
    _ = ctx._
    if action == "defer":
        assert ctx.programme is not None
        prompt = casework.choose_resources(
            ctx.programme, reference, [], ctx.language, _, screen=ctx.screen
        )
        return Outcome(CaseState(pending="defer", reference=reference), prompts=[prompt])
    step = _TYPED_BY_NAME[action]
    prompt = casework.ask_text(step, reference, _, screen=ctx.screen)
    return Outcome(CaseState(pending=step, reference=reference), prompts=[prompt])


def stop(state: CaseState | None, ctx: Context) -> Outcome:
    """ "Cancel": whatever was asked is forgotten."""
    return Outcome(None, changed=state is not None, prompts=[casework.cancelled(ctx._)])


def toggle(state: CaseState | None, reference: str, arg: str, ctx: Context) -> Outcome:
    """A resource ticked or unticked on the deferral's screen (by its position)."""
    programme = ctx.programme
    index = callbacks.number(arg)
    if (
        state is None
        or state.pending != "defer"
        or state.reference != reference
        or programme is None
        or index is None
        or index >= len(programme.signposting)
    ):
        return stale(state, ctx._)
    picked = set(state.picked) ^ {programme.signposting[index].id}
    moved = state.model_copy(
        update={"picked": [r.id for r in programme.signposting if r.id in picked]}
    )
    prompt = casework.choose_resources(
        programme, reference, moved.picked, ctx.language, ctx._, screen=ctx.screen
    )
    return Outcome(moved, replace=prompt, keep_buttons=True)


def defer(state: CaseState | None, reference: str) -> Outcome:
    """ "Send" on the deferral's screen: with the resources ticked for this referral."""
    picked = state.picked if state and state.reference == reference else []
    return Outcome(None, changed=state is not None, effect=Defer(reference, picked))


def typed(state: CaseState | None, text: str, ctx: Context) -> Outcome | None:
    """Typed text: the note, message or name asked for. None when nothing typed was asked
    (a supporter being chosen, a removal to confirm): the text is not the coordinator's."""
    if state is None or state.pending in ("choose", "revoke"):
        return None
    if state.pending not in TYPED:  # resources were being ticked: that screen was left
        return Outcome(None, prompts=[Prompt(esc(screens.expired_notice(ctx._)))])
    return Outcome(None, effect=Write(state.pending, state.reference, text.strip()))


def suggested(reference: str, shown: list[Suggestion], ctx: Context) -> Outcome:
    """ "Match": the ranked supporters shown, remembered in the order shown."""
    assert ctx.programme is not None
    state = CaseState(
        pending="choose",
        reference=reference,
        suggested=[s.person_id for s in shown],
        names=[s.name for s in shown],
    )
    prompt = supporting.suggestions(
        ctx.programme, reference, shown, ctx.language, ctx._, screen=ctx.screen
    )
    return Outcome(state, prompts=[prompt])


def choose(
    state: CaseState | None, reference: str, action: str, arg: str, ctx: Context
) -> Outcome:
    """A supporter picked, an answer ticked or unticked to share, or "Send to ...": the offer."""
    _, programme = ctx._, ctx.programme
    if state is None or state.pending != "choose" or state.reference != reference:
        return stale(state, _)
    assert programme is not None
    chosen = callbacks.number(arg)
    if action == "pick" and chosen is not None and chosen < len(state.suggested):
        moved = state.model_copy(
            update={"chosen": chosen, "share": supporting.default_share(programme, ctx.answers)}
        )
    elif action == "share" and state.chosen >= 0:
        question = supporting.questions_at(programme, arg)
        allowed = {q.id for q in supporting.shareable(programme, ctx.answers)}
        if question is None or question.id not in allowed:
            return stale(state, _, keep_buttons=True)
        ticked = set(state.share) ^ {question.id}
        moved = state.model_copy(
            update={"share": [q.id for q in programme.form if q.id in ticked]}
        )
    elif action == "offer" and state.chosen >= 0:
        name = state.names[state.chosen] or _("(no name)")
        offer = Offer(reference, state.suggested[state.chosen], name, list(state.share))
        return Outcome(None, effect=offer, replace=supporting.offered(reference, name, _))
    else:
        return stale(state, _)
    name = moved.names[moved.chosen] or _("(no name)")
    prompt = supporting.choose_share(
        programme, reference, name, ctx.answers, moved.share, ctx.language, _, screen=ctx.screen
    )
    return Outcome(moved, replace=prompt, keep_buttons=True)


def revoke_asked(target: str, role: str, programme: str) -> CaseState:
    """/revoke: the removal waits for "yes" (checked again then)."""
    return CaseState(pending="revoke", reference=target, role=role, programme=programme)


def revoke_answered(state: CaseState | None, yes: bool, private: bool, ctx: Context) -> Outcome:
    """ "Yes" or "No" under the removal's question."""
    if state is None or state.pending != "revoke" or not private:
        return stale(state, ctx._)
    if not yes:
        return Outcome(None, replace=casework.cancelled(ctx._))
    return Outcome(None, effect=Revoke(state.reference, state.role, state.programme))
