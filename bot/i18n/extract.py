"""Babel extraction method for the English TOML source (`babel.cfg` names it).

`pybabel extract -F babel.cfg -o bot/i18n/messages.pot .` calls `extract_toml` on each
`bot/i18n/en/*.toml`. Every key becomes one entry: msgctxt = the key, msgid = the
English text (msgid_plural for a `[one, other]` pair), the source line, and the TOML
comments written just above the key as notes for translators. Babel adds the
`python-brace-format` flag to texts with `{placeholders}`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from bot.i18n import flatten

_TABLE = re.compile(r"^\s*\[([A-Za-z0-9_.\-]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def key_lines(text: str) -> dict[str, tuple[int, list[str]]]:
    """Each dotted key's line number and the comment lines right above it."""
    found: dict[str, tuple[int, list[str]]] = {}
    table = ""
    comments: list[str] = []
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
            continue
        if not stripped:
            comments = []
            continue
        table_match = _TABLE.match(line)
        if table_match:
            table = table_match.group(1) + "."
            comments = []
            continue
        key_match = _KEY.match(line)
        if key_match:
            found[table + key_match.group(1)] = (number, comments)
            comments = []
            rest = line[key_match.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return found


def extract_toml(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, tuple[str, ...], list[str]]]:
    """Yield `(lineno, funcname, messages, comments)` as Babel expects.

    `pgettext` / `npgettext` are in Babel's default keywords with the context first.
    """
    text = fileobj.read().decode("utf-8")
    lines = key_lines(text)
    for key, source in flatten(tomllib.loads(text)).items():
        lineno, notes = lines.get(key, (0, []))
        if isinstance(source, tuple):
            yield lineno, "npgettext", (key, source[0], source[1]), list(notes)
        else:
            yield lineno, "pgettext", (key, source), list(notes)
