"""The Swedish catalog keeps up with the code.

Every text the code marks with `_()` must have a Swedish translation that keeps the same
`{placeholders}` and /commands, and no markup. Entries the code no longer uses must go.

The checks are plain functions over a .po path, so the tests at the bottom can show that each
one catches a broken copy of the catalog.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog as PoCatalog
from babel.messages.catalog import Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import load_catalog

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "conversations" / "locales"
SV_PO = LOCALES / "sv" / "LC_MESSAGES" / "messages.po"
SV_PO_SHOWN = SV_PO.relative_to(ROOT).as_posix()

FIX = (
    "To fix, run: pybabel extract -k _ --no-location --sort-output --omit-header "
    "-o conversations/locales/messages.pot conversations && pybabel update -i "
    "conversations/locales/messages.pot -d conversations/locales --no-fuzzy-matching, "
    "then translate"
)

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_COMMAND = re.compile(r"(?<![\w/<])/[a-z_]+\b")
_MARKUP = ("<", "&")

Check = Callable[[Path, set[str]], list[str]]


# -- helpers -------------------------------------------------------------------------------


def code_msgids(root: Path = ROOT) -> set[str]:
    """Every text marked with `_()` in conversations/, as pybabel extracts it."""
    found = extract_from_dir(
        str(root),
        method_map=[("conversations/**.py", "python")],
        keywords={"_": None},
    )
    return {message for _file, _line, message, _comments, _context in found if message}


def read_catalog(po_path: Path) -> PoCatalog:
    with po_path.open("rb") as handle:
        return read_po(handle, locale="sv")


def _entries(catalog: PoCatalog) -> dict[str, Message]:
    return {m.id: m for m in catalog if m.id and isinstance(m.id, str)}


def _report(problem: str, msgids: list[str], advice: str = FIX) -> str:
    listed = "\n".join(f"  - {msgid!r}" for msgid in msgids)
    return f"{problem} ({len(msgids)}):\n{listed}\n{advice}"


# -- checks: each returns the msgids that fail it ---------------------------------------------


def untranslated(po_path: Path, msgids: set[str]) -> list[str]:
    """Texts in the code with no usable Swedish: not in the catalog, empty, or fuzzy."""
    entries = _entries(read_catalog(po_path))
    bad = []
    for msgid in sorted(msgids):
        entry = entries.get(msgid)
        if entry is None or not str(entry.string or "").strip() or entry.fuzzy:
            bad.append(msgid)
    return bad


def placeholders_differ(po_path: Path, msgids: set[str]) -> list[str]:
    """Translations whose {placeholders} are not exactly those of the English text."""
    entries = _entries(read_catalog(po_path))
    return [
        msgid
        for msgid, entry in sorted(entries.items())
        if entry.string
        and set(_PLACEHOLDER.findall(msgid)) != set(_PLACEHOLDER.findall(str(entry.string)))
    ]


def commands_differ(po_path: Path, msgids: set[str]) -> list[str]:
    """Translations that lost or translated a /command (commands stay in English)."""
    entries = _entries(read_catalog(po_path))
    return [
        msgid
        for msgid, entry in sorted(entries.items())
        if entry.string
        and set(_COMMAND.findall(msgid)) != set(_COMMAND.findall(str(entry.string)))
    ]


def has_markup(po_path: Path, msgids: set[str]) -> list[str]:
    """Translations with '<' or '&': texts are escaped later, so they must stay plain."""
    entries = _entries(read_catalog(po_path))
    return [
        msgid
        for msgid, entry in sorted(entries.items())
        if any(char in str(entry.string or "") for char in _MARKUP)
    ]


def obsolete(po_path: Path, msgids: set[str]) -> list[str]:
    """Entries the code no longer uses, including '#~' leftovers from pybabel update."""
    catalog = read_catalog(po_path)
    stale = set(_entries(catalog)) - msgids
    stale |= {str(key) for key in catalog.obsolete}
    return sorted(stale)


# -- the real catalog --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def msgids() -> set[str]:
    return code_msgids()


def test_extraction_finds_the_texts(msgids: set[str]) -> None:
    # Guards the checks below against passing because nothing was extracted.
    assert len(msgids) > 50
    assert {"Yes", "Question {number} of {total}", "/start shows where you are."} <= msgids


def test_catalog_header_is_swedish_utf8() -> None:
    catalog = read_catalog(SV_PO)
    assert str(catalog.locale) == "sv"
    assert catalog.charset.lower() == "utf-8"
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
    assert not catalog.fuzzy, "The catalog header is marked fuzzy; remove '#, fuzzy'."


def test_every_text_in_the_code_has_swedish(msgids: set[str]) -> None:
    missing = untranslated(SV_PO, msgids)
    assert not missing, _report(
        f"{SV_PO_SHOWN}: texts with no Swedish translation, or a fuzzy one",
        missing,
    )


def test_translations_keep_the_placeholders(msgids: set[str]) -> None:
    wrong = placeholders_differ(SV_PO, msgids)
    assert not wrong, _report(
        "Translations whose {placeholders} differ from the English",
        wrong,
        "Keep every {name} exactly as in the English text; do not translate the names.",
    )


def test_translations_keep_the_commands(msgids: set[str]) -> None:
    wrong = commands_differ(SV_PO, msgids)
    assert not wrong, _report(
        "Translations whose /commands differ from the English",
        wrong,
        "Commands like /start and /back stay in English in every language.",
    )


def test_translations_are_plain_text(msgids: set[str]) -> None:
    wrong = has_markup(SV_PO, msgids)
    assert not wrong, _report(
        "Translations containing '<' or '&'",
        wrong,
        "Write plain text: the bot escapes and formats texts itself.",
    )


def test_no_obsolete_entries(msgids: set[str]) -> None:
    stale = obsolete(SV_PO, msgids)
    assert not stale, _report(
        f"{SV_PO_SHOWN}: entries the code no longer uses",
        stale,
        FIX + " (and delete any leftover '#~' entries)",
    )


def test_load_catalog_serves_swedish() -> None:
    catalog = load_catalog()
    assert catalog.translator("sv")("Yes") == "Ja"
    assert catalog.translator("en")("Yes") == "Yes"
    assert {"en", "sv"} <= set(catalog.languages)


# -- the checks catch a broken copy --------------------------------------------------------------


def _broken_copy(tmp_path: Path, change: Callable[[PoCatalog], None]) -> Path:
    copy = tmp_path / "messages.po"
    shutil.copyfile(SV_PO, copy)
    catalog = read_catalog(copy)
    change(catalog)
    with copy.open("wb") as handle:
        write_po(handle, catalog)
    return copy


def _set(msgid: str, text: str) -> Callable[[PoCatalog], None]:
    def change(catalog: PoCatalog) -> None:
        catalog[msgid].string = text

    return change


def _fuzzy(msgid: str) -> Callable[[PoCatalog], None]:
    def change(catalog: PoCatalog) -> None:
        catalog[msgid].flags.add("fuzzy")

    return change


def _remove(msgid: str) -> Callable[[PoCatalog], None]:
    def change(catalog: PoCatalog) -> None:
        del catalog[msgid]

    return change


def _add(msgid: str) -> Callable[[PoCatalog], None]:
    def change(catalog: PoCatalog) -> None:
        catalog.add(msgid, "Gammal text")

    return change


def _add_hash_tilde(msgid: str) -> Callable[[PoCatalog], None]:
    def change(catalog: PoCatalog) -> None:
        catalog.obsolete[msgid] = Message(msgid, "Gammal text")

    return change


@pytest.mark.parametrize(
    ("check", "change", "expected"),
    [
        (untranslated, _set("Yes", ""), "Yes"),
        (untranslated, _fuzzy("Yes"), "Yes"),
        (untranslated, _remove("Yes"), "Yes"),
        (
            placeholders_differ,
            _set("Question {number} of {total}", "Fråga {nummer} av {total}"),
            "Question {number} of {total}",
        ),
        (
            placeholders_differ,
            _set("Your answer now: {answer}", "Ditt svar nu:"),
            "Your answer now: {answer}",
        ),
        (
            commands_differ,
            _set("/start shows where you are.", "/börja visar var du är."),
            "/start shows where you are.",
        ),
        (has_markup, _set("Yes", "<b>Ja</b>"), "Yes"),
        (has_markup, _set("Yes", "Ja & nej"), "Yes"),
        (obsolete, _add("A screen that was removed"), "A screen that was removed"),
        (obsolete, _add_hash_tilde("An old text"), "An old text"),
    ],
)
def test_checks_catch_a_broken_catalog(
    tmp_path: Path,
    msgids: set[str],
    check: Check,
    change: Callable[[PoCatalog], None],
    expected: str,
) -> None:
    assert check(SV_PO, msgids) == []
    broken = _broken_copy(tmp_path, change)
    assert check(broken, msgids) == [expected]


def test_a_new_text_in_the_code_is_reported_with_the_fix(msgids: set[str]) -> None:
    new = msgids | {"A brand new screen"}
    missing = untranslated(SV_PO, new)
    assert missing == ["A brand new screen"]
    message = _report("texts with no Swedish translation", missing)
    assert "'A brand new screen'" in message
    assert "pybabel update" in message
    assert message.endswith("then translate")
