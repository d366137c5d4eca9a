"""Loading the message catalogs (gettext .po files, read with Babel)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from conversations.i18n import SOURCE_LANGUAGE, Catalog

LOCALES = Path(__file__).resolve().parent.parent / "conversations" / "locales"


def load_catalog(folder: Path = LOCALES) -> Catalog:
    messages: dict[str, dict[str, str]] = {SOURCE_LANGUAGE: {}}
    for po_file in sorted(folder.glob("*/LC_MESSAGES/messages.po")):
        language = po_file.parent.parent.name
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        messages[language] = {
            str(m.id): str(m.string)
            for m in catalog
            if m.id and m.string and not m.fuzzy and isinstance(m.id, str)
        }
    return Catalog(messages)
