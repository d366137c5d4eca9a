"""A supporter changing their profile, as a dialog: show, pick choices, type a field, pause,
leave the team.

Pure: the service (bot/services/supporting.py) loads the profile and what the profile screen
shows into a `Context`, checks a press against the screen the dialog shows
(`engine.is_current`), asks `press` or `typed` what to do, then carries out the outcome: store
the changed profile, the field being asked (the "profile" frame of the supporter's dialog stack),
pause or resume, or leave the team. Nothing here reads the store, a clock or Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conversations import screens, supporting
from conversations.forms import Programme
from conversations.i18n import Translate
from conversations.matching import MAX_CAPACITY, MAX_NAME, MAX_WORDS, Profile
from conversations.prompts import Prompt


@dataclass(frozen=True)
class Context:
    """What the profile dialog may know: the supporter's programme and profile as stored, and
    what their profile screen shows (paused, how many people they support now)."""

    programme: Programme
    profile: Profile
    paused: bool
    live: int
    language: str
    screen: int  # the number a screen shown now takes (the person's next one: DialogState)


@dataclass
class Outcome:
    """`profile` is the profile to store (None: unchanged). `asking` is the field now asked
    (a typed answer is awaited), "" when nothing is asked any more, None when that is unchanged.
    `pause` pauses (True) or resumes (False) new people; `leave` takes the supporter off the
    team. `prompts` are new messages, `replace` edits the pressed one, `notice` answers it."""

    profile: Profile | None = None
    asking: str | None = None
    pause: bool | None = None
    leave: bool = False
    prompts: list[Prompt] = field(default_factory=list)
    replace: Prompt | None = None
    notice: str | None = None
    keep_buttons: bool = False


def screen(
    ctx: Context, _: Translate, profile: Profile | None = None, paused: bool | None = None
) -> Prompt:
    """The profile as coordinators know it, with its buttons."""
    return supporting.profile_screen(
        ctx.programme,
        profile or ctx.profile,
        ctx.paused if paused is None else paused,
        ctx.live,
        ctx.language,
        _,
        screen=ctx.screen,
    )


def press(action: str, name: str, arg: str, ctx: Context, _: Translate) -> Outcome:
    """A profile button: show, pause or resume, leave (and confirm), edit a field, tick one."""
    if action == "show":
        return Outcome(asking="", replace=screen(ctx, _))
    if action in ("pause", "resume"):
        paused = action == "pause"
        return Outcome(profile=ctx.profile, pause=paused, replace=screen(ctx, _, paused=paused))
    if action == "leave":
        return Outcome(replace=supporting.confirm_leave(_, screen=ctx.screen))
    if action == "leaveok":
        return Outcome(leave=True, asking="", replace=supporting.left(_))
    if action == "edit" and name in supporting.fields_of(ctx.programme):
        if supporting.is_choice(name):
            chosen = supporting.choose_screen(
                ctx.programme, ctx.profile, name, ctx.language, _, screen=ctx.screen
            )
            return Outcome(replace=chosen)
        return Outcome(asking=name, prompts=[supporting.ask_field(name, _, screen=ctx.screen)])
    if action == "tog" and supporting.is_choice(name):
        option = supporting.choice_at(ctx.programme, name, arg)
        if option is not None:
            changed = toggled(ctx.profile, name, option)
            chosen = supporting.choose_screen(
                ctx.programme, changed, name, ctx.language, _, screen=ctx.screen
            )
            return Outcome(profile=changed, replace=chosen, keep_buttons=True)
    return Outcome(notice=screens.expired_notice(_), keep_buttons=True)


def typed(asking: str, text: str, ctx: Context, _: Translate) -> Outcome:
    """The answer to the field asked: stored and the profile shown, or the question again."""
    if asking not in supporting.TYPED_FIELDS:
        return Outcome(asking="", prompts=[Prompt(screens.expired_notice(_))])
    changed = with_typed(ctx.profile, asking, text.strip())
    if changed is None:
        bad = supporting.bad_capacity(_, screen=ctx.screen) if asking == "capacity" else None
        return Outcome(prompts=[bad or supporting.ask_field(asking, _, screen=ctx.screen)])
    return Outcome(profile=changed, asking="", prompts=[screen(ctx, _, profile=changed)])


def toggled(profile: Profile, name: str, option: str) -> Profile:
    """The profile with one choice of `name` ticked or unticked (gender: one at most)."""
    changed = profile.model_copy(deep=True)
    if name == "gender":
        changed.gender = None if profile.gender == option else option
        return changed
    chosen: list[str] = getattr(profile, name)
    setattr(
        changed,
        name,
        [o for o in chosen if o != option] if option in chosen else [*chosen, option],
    )
    return changed


def with_typed(profile: Profile, name: str, text: str) -> Profile | None:
    """The profile with a typed field set; None if the text does not fit (asked again)."""
    changed = profile.model_copy(deep=True)
    if name == "capacity":
        if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= MAX_CAPACITY:
            return None
        changed.capacity = int(text)
        return changed
    limit = MAX_NAME if name == "name" else MAX_WORDS
    if not text or len(text) > limit:
        return None
    setattr(changed, name, text)
    return changed
