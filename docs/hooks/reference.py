"""MkDocs hook: the configuration reference, generated from the code at every build.

`docs/run/configuration.md` holds two markers. At build time they are replaced by tables made
from the models the bot itself validates with, so the page cannot drift from the code:

- ``<!-- peerdoor:settings -->``: every field of `Settings` (bot/settings.py) as its
  PEERDOOR_* variable, plus the few PEERDOOR_* names the product reads outside that model.
- ``<!-- peerdoor:config -->``: every key of the TOML config, walked from `ServiceConfig`
  (conversations/forms.py) down through every nested model.

Each key's words come from the model's `Field(description=...)`; the keys the models leave
undescribed are described in DESCRIPTIONS below. A key with neither stops the build (and the
unit test tests/unit/test_docs.py), as does a description here for a key that no longer exists,
or a PEERDOOR_* name in the product's code that the page does not list.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.settings import Settings
from conversations.forms import ServiceConfig

ROOT = Path(__file__).resolve().parents[2]
#: Where the product's code lives: scanned for PEERDOOR_* names the page must list.
PRODUCT_DIRS = ("bot", "sandbox", "conversations", "storage")
SETTINGS_MARKER = "<!-- peerdoor:settings -->"
CONFIG_MARKER = "<!-- peerdoor:config -->"

#: PEERDOOR_* variables read outside the Settings model.
EXTRA_SETTINGS: dict[str, str] = {
    "PEERDOOR_SECRETS_DIR": (
        "A folder of secret files, one per setting, named like the setting in lower case "
        "(`peerdoor_telegram_token`, `peerdoor_master_key`, `peerdoor_webhook_secret`). "
        "Without it, systemd's credentials folder (`LoadCredential=`) is used if there is one. "
        "An environment variable of the same name wins over the file."
    ),
    "PEERDOOR_CRASH_AT": (
        "For the crash tests only: never set it on a service. Names a point "
        "(`storage/crashpoints.py`) where the process exits at once, as if killed there."
    ),
}

#: Words for the settings and config keys whose model gives no `description`.
#: Keyed by "Model.field". Keep each to one or two plain sentences.
DESCRIPTIONS: dict[str, str] = {
    # bot/settings.py
    "Settings.telegram_token": "The bot token from @BotFather. Secret.",
    "Settings.telegram_api_url": (
        "The Bot API server: Telegram's, a self-hosted one, or the test emulator."
    ),
    "Settings.config": "The service's config file (the TOML file described below).",
    "Settings.data_dir": (
        "Where the database (`peerdoor.db`) and the erasure key store "
        "(`peerdoor.erasure-keys`) live; created with mode 0700."
    ),
    "Settings.master_key": (
        "The master key (base64 or hex, 32 bytes). If unset, the key file is read. Secret."
    ),
    "Settings.key_file": (
        "The key file `peerdoor init` writes. Refused if other users can read it."
    ),
    "Settings.log_level": ("Log level. Logs never carry answers, names or Telegram ids."),
    "Settings.rate_limit": (
        "Keep to Telegram's flood limits. Turn it off only for benchmarks against the emulator."
    ),
    "Settings.pace_private_chats": (
        "With rate_limit: about one message a second into each private chat, as Telegram asks, "
        "so a person who taps quickly never gets a 'too many requests' answer. The end-to-end "
        "tests turn it off (it costs them a second of real time per message)."
    ),
    "Settings.webhook_url": (
        "Webhook mode: the public https address Telegram posts to, like "
        "`https://bot.example.org/telegram` (ports 443, 80, 88 or 8443)."
    ),
    "Settings.webhook_secret": (
        "Webhook mode (required there): 32-256 characters of `A-Z a-z 0-9 _ -`, sent back by "
        "Telegram in a header (Telegram allows 1; a short one could be guessed). Make one with "
        '`python3 -c "import secrets; print(secrets.token_urlsafe(32))"` or '
        "`openssl rand -hex 32`. Secret."
    ),
    "Settings.listen": (
        "Webhook mode: where the bot listens for the reverse proxy (plain http; never publish "
        "it). `0.0.0.0:8443` in the container."
    ),
    # conversations/forms.py
    "ServiceConfig.default_programme": (
        "The programme a plain /start opens. Without it, people who did not come through a "
        "programme link are asked to choose (unless there is only one programme)."
    ),
    "ServiceConfig.bot": "What Telegram shows about the bot itself.",
    "ServiceConfig.programmes": "The programmes: one `[[programmes]]` block each.",
    "Programme.id": (
        "Short name used in links (`t.me/YourBot?start=hiv`) and inside the bot. Never change "
        "it once people have used it."
    ),
    "Programme.name": (
        "The programme's name per language. It may show on buttons: keep it discreet."
    ),
    "Programme.languages": (
        "Language codes, the first is the default. The person's Telegram language is used "
        "when it is in this list; `/language` changes it."
    ),
    "Programme.timezone": (
        "IANA time zone for check-ins, reminders, meetings and quiet hours (summer time is "
        "followed)."
    ),
    "Programme.min_age": (
        "Minimum age. Someone younger is told kindly where to get support, and nothing is kept."
    ),
    "Programme.emergency": "Where to get help now: shown after sending the form and in a crisis.",
    "Programme.complaints": "How to complain, shown after sending the form.",
    "Programme.form": "The referral form: one `[[programmes.form]]` block per step, in order.",
    "Programme.signposting": (
        "The signposting directory: services a coordinator can point someone to when deferring."
    ),
    "Programme.service_levels": "How quickly the service promises to act.",
    "Programme.retention": "How long things are kept before they are erased.",
    "Programme.checkins": "Check-in messages for people who agreed to them.",
    "Programme.crisis": "Words that mean someone may be in danger, and what to answer at once.",
    "Programme.sessions": "Meetings between a supporter and the person they support.",
    "Question.id": "Short name; answers are filed under it. Never change it once used.",
    "Question.kind": (
        "`single` (pick one button), `multi` (pick several, then Done), `text`, `number` "
        "(whole number), `date`, `yesno`, or `info` (a message with a Continue button)."
    ),
    "Question.text": "The question, per language. Its first line may show on a lock screen.",
    "Question.required": "`false` lets the person skip the question.",
    "Question.skip_label": '`skip`, or `prefer_not` (the button then says "Prefer not to say").',
    "Question.options": (
        "For `single` and `multi`: 2 to 20 `[[...options]]` blocks with an `id` and a `label`."
    ),
    "Question.max_length": "Longest typed answer, in characters.",
    "Question.minimum": "For `number` questions: the smallest answer allowed (needed there).",
    "Question.maximum": "For `number` questions: the largest answer allowed (needed there).",
    "Question.when": (
        "Show the question only if an earlier one got one of these answers, like "
        '`when = { question = "contact_route", any_of = ["phone"] }`.'
    ),
    "Option.id": "Short name of the choice; exports and `when` use it.",
    "Option.label": "The button's words, per language.",
    "Condition.question": "The id of an earlier choice or yes/no question.",
    "Resource.id": "Short name of the service.",
    "Resource.name": "Its name, per language.",
    "ServiceLevels.claim_within_hours": (
        "A referral nobody claims within this time is posted to the group again (and again "
        "after each such period)."
    ),
    "ServiceLevels.contact_within_days": (
        "A claimed referral not contacted within this time is reminded to its holder."
    ),
    "QuietHours.start": 'Local time (`"21:00"`) from which news and check-ins wait.',
    "QuietHours.end": 'Local time (`"09:00"`) when they go out again.',
}

#: The tables of TOML arrays: a list of these models is written as [[key]] blocks.
_SCALARS = (str, int, float, bool)


def _documented(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    words = info.description or DESCRIPTIONS.get(f"{model.__name__}.{name}")
    if not words:
        raise ValueError(
            f"{model.__name__}.{name} has no description: give it Field(description=...) "
            f"or add '{model.__name__}.{name}' to DESCRIPTIONS in docs/hooks/reference.py"
        )
    return " ".join(words.split())


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


#: In a key path: the name in a table of named tables (`[programmes.questionnaires.refer]`).
NAMED = ".<name>"


def _is_named(annotation: Any) -> bool:
    """A table of named tables of one model: ``dict[name, Model]``."""
    args = typing.get_args(annotation)
    return typing.get_origin(annotation) is dict and len(args) == 2 and bool(_models_in(args[1]))


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))


def _type_name(annotation: Any) -> str:
    """A short, readable name of a field's type."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " / ".join(f"`{a}`" if isinstance(a, str) else str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args]
        return " / ".join(names)
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        value = _type_name(args[1]) if len(args) == 2 else "value"
        return f"per language: {value}" if args and _is_language(args[0]) else f"table of {value}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    if annotation is SecretStr:
        return "secret text"
    if isinstance(annotation, type):
        return {
            "str": "text",
            "int": "whole number",
            "float": "number",
            "bool": "true / false",
            "time": '"HH:MM"',
            "Path": "path",
        }.get(annotation.__name__, annotation.__name__)
    return str(annotation)


def _is_language(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        metadata = typing.get_args(annotation)[1:]
        return any(getattr(m, "pattern", None) == r"^[a-z]{2}$" for m in metadata)
    return False


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    factory = info.default_factory
    value = factory() if factory is not None else info.default  # type: ignore[call-arg]
    if value is None or value is PydanticUndefined:
        return "(none)"
    if isinstance(value, BaseModel):
        return "(see below)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        return f"`{value}`"
    if isinstance(value, list | dict) and not value:
        return "(none)"
    if isinstance(value, list):
        return "`[" + ", ".join(_number(v) for v in value) + "]`"
    if isinstance(value, float):
        return f"`{_number(value)}`"
    return f"`{value}`"


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _limits(info: FieldInfo) -> str:
    words = []
    for item in info.metadata:
        for attr, text in (
            ("ge", "≥ {}"),
            ("gt", "> {}"),
            ("le", "≤ {}"),
            ("lt", "< {}"),
            ("min_length", "at least {}"),
            ("max_length", "at most {}"),
        ):
            value = getattr(item, attr, None)
            if value is not None:
                words.append(text.format(_number(value)))
    return f" ({', '.join(words)})" if words else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_reference() -> str:
    """The table of PEERDOOR_* variables."""
    rows = ["| variable | default | what it is |", "|---|---|---|"]
    names = []
    for name, info in Settings.model_fields.items():
        env = "PEERDOOR_" + name.upper()
        names.append(env)
        rows.append(f"| `{env}` | {_default(info)} | {_cell(_documented(Settings, name, info))} |")
    for env, words in EXTRA_SETTINGS.items():
        names.append(env)
        rows.append(f"| `{env}` | (none) | {_cell(words)} |")
    missing = sorted(product_variables() - set(names))
    if missing:
        raise ValueError(
            f"the product reads {', '.join(missing)} but the configuration page does not list "
            "it: add a Settings field or an entry in EXTRA_SETTINGS in docs/hooks/reference.py"
        )
    return "\n".join(rows) + "\n"


def product_variables() -> set[str]:
    """Every PEERDOOR_* name in the product's code."""
    found: set[str] = set()
    for folder in PRODUCT_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            found.update(re.findall(r"PEERDOOR_[A-Z][A-Z_]*[A-Z]", path.read_text("utf-8")))
    return found


def config_reference() -> str:
    """Every key of the TOML config, one table per (nested) table of the file."""
    sections: list[str] = []
    seen: dict[type[BaseModel], str] = {}
    _walk(ServiceConfig, "", False, sections, seen)
    return "\n".join(sections)


def _models() -> list[type[BaseModel]]:
    """Settings and every model reachable from ServiceConfig."""
    found: list[type[BaseModel]] = [Settings]

    def visit(model: type[BaseModel]) -> None:
        if model in found:
            return
        found.append(model)
        for info in model.model_fields.values():
            for inner in _models_in(info.annotation):
                visit(inner)

    visit(ServiceConfig)
    return found


def stale_descriptions() -> list[str]:
    """Entries of DESCRIPTIONS for a key that is gone, or that the model now describes itself."""
    wanted = {
        f"{model.__name__}.{name}"
        for model in _models()
        for name, info in model.model_fields.items()
        if not info.description
    }
    return sorted(set(DESCRIPTIONS) - wanted)


def config_keys() -> set[str]:
    """Every key path the reference lists, like `programmes.form.options.label`."""
    keys: set[str] = set()

    def collect(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            path = f"{prefix}.{name}" if prefix else name
            keys.add(path)
            for inner in _models_in(info.annotation):
                collect(inner, path + NAMED if _is_named(info.annotation) else path)

    collect(ServiceConfig, "")
    return keys


def _walk(
    model: type[BaseModel],
    prefix: str,
    array: bool,
    sections: list[str],
    seen: dict[type[BaseModel], str],
) -> None:
    heading = "top level" if not prefix else (f"[[{prefix}]]" if array else f"[{prefix}]")
    if model in seen:
        sections.append(
            f"### `{heading}`\n\nThe same keys as [`{seen[model]}`](#{_anchor(seen[model])}).\n"
        )
        return
    seen[model] = heading
    doc = " ".join((model.__doc__ or "").split())
    lines = [f"### `{heading}`" if prefix else "### Top level", ""]
    if doc:
        lines += [doc, ""]
    lines += ["| key | type | default | what it is |", "|---|---|---|---|"]
    nested: list[tuple[str, type[BaseModel], bool]] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        words = _documented(model, name, info) + _limits(info)
        inner = _models_in(info.annotation)
        kind = _type_name(info.annotation)
        if inner:
            is_array = _is_list(info.annotation)
            if _is_named(info.annotation):  # a table of named tables: [programmes.x.<name>]
                path += NAMED
            target = f"[[{path}]]" if is_array else f"[{path}]"
            anchor = _anchor(target)
            kind = f"[{'list of tables' if is_array else 'table'}](#{anchor})"
            nested.extend((path, m, is_array) for m in inner)
        lines.append(f"| `{name}` | {_cell(kind)} | {_default(info)} | {_cell(words)} |")
    sections.append("\n".join(lines) + "\n")
    for path, inner_model, is_array in nested:
        _walk(inner_model, path, is_array, sections, seen)


def _anchor(heading: str) -> str:
    """The id MkDocs' toc extension gives a heading `### \\`[x.y]\\``."""
    return re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-")


# -- MkDocs hook events --------------------------------------------------------------------------


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if page.file.src_uri != "run/configuration.md":
        return markdown
    try:
        return _fill_in(markdown)
    except ValueError as exc:  # one line naming the key and the fix, not a traceback
        raise PluginError(f"configuration reference: {exc}") from None


def _fill_in(markdown: str) -> str:
    stale = stale_descriptions()
    if stale:
        raise ValueError(
            f"docs/hooks/reference.py describes {', '.join(stale)}: that key is gone or its "
            "model describes it now; remove it from DESCRIPTIONS"
        )
    for marker in (SETTINGS_MARKER, CONFIG_MARKER):
        if marker not in markdown:
            raise ValueError(f"run/configuration.md lost its marker {marker}")
    return markdown.replace(SETTINGS_MARKER, settings_reference()).replace(
        CONFIG_MARKER, config_reference()
    )
