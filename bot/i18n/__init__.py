"""Message catalogs: handlers and core emit keys, never literal user-facing strings.

English is the source. It lives in `en/*.toml`, one file per concern (`core.toml`,
`groups.toml`, …), as `key = "text with {params}"` grouped in tables (`[checkin]
set = "…"` is the key `checkin.set`). A text that depends on a count is a two-item
array, `key = ["one form with {count}", "other form with {count}"]`: `tn(key, n, …)` or
`t(key, …, count=n)` picks the language's form for the number (CLDR plural rules).
A key defined twice is a bug and raises; a key missing in English is a bug and raises.

The other languages are gettext catalogs, `<lang>/LC_MESSAGES/holdfast.po`, made and
kept up to date with Babel (`pybabel extract` through `bot.i18n.extract`, then
`pybabel update`; see docs/translating.md). Each entry's msgctxt is the key and its
msgid the English text, so a changed English text no longer matches its old
translation until a translator looks at it again. The PO files are read and compiled
in memory on first use (no .mo files to build or commit). A missing, empty or fuzzy
translation, or one whose placeholders do not fit, falls back to English.
"""

from __future__ import annotations

import gettext
import tomllib
from functools import cache
from importlib.resources import files
from io import BytesIO
from typing import Any

DEFAULT_LANG = "en"
DOMAIN = "holdfast"

#: Each language by its own name, in the order /lang lists them.
NATIVE_NAMES = {
    "th": "ไทย",
    "km": "ខ្មែរ",
    "lo": "ລາວ",
    "my": "မြန်မာ",
    "ne": "नेपाली",
    "en": "English",
}

#: An English text: a plain string, or (one, other) for a count-dependent text.
Source = str | tuple[str, str]


@cache
def english() -> dict[str, Source]:
    """The English source: every key, with its text or its (one, other) plural pair."""
    folder = files(__name__) / DEFAULT_LANG
    merged: dict[str, Source] = {}
    for part in sorted(folder.iterdir(), key=lambda p: p.name):
        if not part.name.endswith(".toml"):
            continue
        flat = flatten(tomllib.loads(part.read_text(encoding="utf-8")))
        clash = merged.keys() & flat.keys()
        if clash:
            raise KeyError(f"catalog keys defined twice in en/{part.name}: {sorted(clash)}")
        merged.update(flat)
    return merged


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Source]:
    """`{"a": {"b": "x"}}` → `{"a.b": "x"}`; a two-string array is a plural pair."""
    flat: dict[str, Source] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{full}."))
        elif isinstance(value, list):
            if len(value) != 2 or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{full}: a plural is [one, other], two strings")
            flat[full] = (value[0], value[1])
        else:
            flat[full] = str(value)
    return flat


def po_path(lang: str) -> Any:
    """Where the gettext catalog of `lang` lives (a Traversable; may not exist)."""
    return files(__name__) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang`: only complete, non-fuzzy entries."""
    path = po_path(lang)
    if lang == DEFAULT_LANG or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        return compile_po(handle, lang)


def compile_po(handle: Any, lang: str) -> gettext.GNUTranslations:
    """Compile a PO file in memory, leaving out fuzzy and incomplete entries."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = read_po(handle, locale=lang, domain=DOMAIN)
    for message in list(po)[1:]:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            po.delete(message.id, message.context)
    compiled = BytesIO()
    write_mo(compiled, po, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def languages() -> tuple[str, ...]:
    """Languages people can choose: English and every language with a catalog, in /lang order."""
    return tuple(code for code in NATIVE_NAMES if code == DEFAULT_LANG or po_path(code).is_file())


def match_language(tag: str) -> str | None:
    """Our language for an IETF tag from a platform ("th", "th-TH", "ne_NP"), or None."""
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary and primary in languages() else None


def language_hint() -> str:
    """One line per language we speak (English aside), in that language: how to choose it."""
    return "\n".join(
        t("lang.hint", code, name=NATIVE_NAMES[code], code=code)
        for code in languages()
        if code != DEFAULT_LANG
    )


def _fill(text: str, source: str, params: dict[str, Any]) -> str:
    if not params:
        return text
    try:
        return text.format_map(params)
    except (KeyError, IndexError, ValueError):
        return source.format_map(params)  # a broken translation never costs the message


def t(key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """The text for `key` in `lang`, with `{params}` filled in."""
    source = english()[key]
    if isinstance(source, tuple):  # a plural: its count is the `{count}` (or `{n}`) param
        count = params.pop("count", params.pop("n", 2))
        return tn(key, count if isinstance(count, int) else 2, lang, count=count, **params)
    text = source if lang == DEFAULT_LANG else translations(lang).pgettext(key, source)
    return _fill(text, source, params)


def tn(key: str, n: int, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """The count-dependent text for `key` in `lang` (CLDR plural rules); `{count}` = `{n}` = n."""
    source = english()[key]
    one, other = source if isinstance(source, tuple) else (source, source)
    english_text = one if n == 1 else other
    text = (
        english_text if lang == DEFAULT_LANG
        else translations(lang).npgettext(key, one, other, n)
    )
    return _fill(text, english_text, {"n": n, "count": n, **params})


def catalog(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Every key's unfilled text in `lang` (plurals in their general form)."""
    out: dict[str, str] = {}
    for key, source in english().items():
        if isinstance(source, tuple):
            out[key] = (
                source[1] if lang == DEFAULT_LANG
                else translations(lang).npgettext(key, source[0], source[1], 2)
            )
        else:
            out[key] = source if lang == DEFAULT_LANG else translations(lang).pgettext(key, source)
    return out


def has(key: str) -> bool:
    """True if English has the key (used for user errors coming from core)."""
    return key in english()
