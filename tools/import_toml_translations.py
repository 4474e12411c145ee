#!/usr/bin/env python3
"""Import translations written as TOML mirrors of the English catalog into PO files.

    python tools/import_toml_translations.py /work/translations th ne ...

`<dir>/<lang>/*.toml` hold the same tables, keys and {placeholders} as
`bot/i18n/en/*.toml`. Each English key found there becomes a translated entry of
`bot/i18n/<lang>/LC_MESSAGES/holdfast.po` (created from the template when missing);
entries already in the PO that the mirror does not have are kept. A key the English
source no longer has, or a text whose placeholders differ from the English, is
reported and left out. A one-form text for a plural key fills every plural form.
The PO header records that the text was drafted without a native-speaker review.
"""

from __future__ import annotations

import string
import sys
import tomllib
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, english, flatten

ROOT = Path(__file__).resolve().parents[1]
REVIEW = "machine-drafted, not reviewed by a native speaker"
HEADER = """\
# {name} translations for Holdfast.
# Copyright (C) 2026 Holdfast contributors
# This file is distributed under the same license as the Holdfast project.
#
# Review status: {review}.
# Drafted without a native-speaker review. Before relying on it
# with people at risk, have a native speaker check every message
# (docs/translating.md), then change this note and the
# X-Review-Status header below.
#"""


def fields(text: str) -> list[str]:
    """The sorted placeholder names of a text."""
    return sorted({name for _, name, _, _ in string.Formatter().parse(text) if name})


def load_mirror(folder: Path) -> dict[str, object]:
    """Every key of one language's TOML mirror."""
    merged: dict[str, object] = {}
    for path in sorted(folder.glob("*.toml")):
        merged.update(flatten(tomllib.loads(path.read_text(encoding="utf-8"))))
    return merged


def open_catalog(lang: str, path: Path) -> Catalog:
    """The language's PO, or a new one from the template."""
    if path.is_file():
        with path.open("rb") as handle:
            return read_po(handle, locale=lang, domain=DOMAIN)
    with (ROOT / "bot/i18n/messages.pot").open("rb") as handle:
        template = read_po(handle)
    catalog = Catalog(locale=lang, domain=DOMAIN, project="Holdfast", version="0.1.0",
                      copyright_holder="Holdfast contributors", fuzzy=False)
    catalog.update(template)
    return catalog


def import_language(source: Path, lang: str) -> int:
    """Fill one language's PO from its mirror; the number of problems."""
    path = ROOT / f"bot/i18n/{lang}/LC_MESSAGES/{DOMAIN}.po"
    catalog = open_catalog(lang, path)
    mirror = load_mirror(source / lang)
    problems = 0
    for key, value in mirror.items():
        en = english().get(key)
        if en is None:
            print(f"{lang}: {key} is not in the English source, left out")
            problems += 1
            continue
        msgid = en if isinstance(en, str) else en
        english_fields = fields(en if isinstance(en, str) else en[1])
        texts = value if isinstance(value, tuple) else (str(value),)
        if any(fields(text) != english_fields for text in texts):
            print(f"{lang}: {key} placeholders {[fields(x) for x in texts]} != {english_fields}")
            problems += 1
            continue
        strings: str | tuple[str, ...] = texts[0]
        if isinstance(en, tuple):
            strings = tuple(texts[min(i, len(texts) - 1)] for i in range(catalog.num_plurals))
        entry = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid, context=key)
        if entry is None:
            catalog.add(msgid, strings, context=key)
        else:
            entry.string = strings
            entry.flags.discard("fuzzy")
            entry.previous_id = []
    for message in list(catalog)[1:]:
        # Babel's read_po takes a multi-line `#| msgid` (previous text) for translator
        # comments, and write_po then wraps them: drop such debris.
        if any(comment.startswith("|") for comment in message.user_comments):
            message.user_comments = []
    name = Locale.parse(lang).english_name
    catalog.header_comment = HEADER.format(name=name, review=REVIEW)
    catalog.language_team = f"{name} (not yet reviewed by a native speaker)"
    catalog.last_translator = "machine draft"
    catalog.fuzzy = False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, sort_by_file=True, include_previous=True)
    text = path.read_text(encoding="utf-8")
    marker = '"Generated-By:'
    path.write_text(text.replace(marker, f'"X-Review-Status: {REVIEW}\\n"\n{marker}', 1),
                    encoding="utf-8")
    return problems


def main(argv: list[str]) -> int:
    """Import each language named after the source folder."""
    source, langs = Path(argv[0]), argv[1:]
    return 1 if sum(import_language(source, lang) for lang in langs) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
