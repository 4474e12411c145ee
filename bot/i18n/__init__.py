"""Message catalogs: handlers and core emit keys, never literal user-facing strings.

Each language is a folder (`en/`, …) of TOML files, one per concern (`core.toml`,
`groups.toml`, …), of `key = "text with {params}"` grouped in tables (`[checkin]
set = "…"` is the key `checkin.set`). A key defined twice is a bug and raises.
A language missing a key
falls back to English; a key missing in English is a bug and raises.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

DEFAULT_LANG = "en"


@cache
def catalog(lang: str) -> dict[str, str]:
    """The flattened catalog of one language ({} if there is none)."""
    folder = files(__name__) / lang
    if not folder.is_dir():
        return {}
    merged: dict[str, str] = {}
    for part in sorted(folder.iterdir(), key=lambda p: p.name):
        if not part.name.endswith(".toml"):
            continue
        flat = _flatten(tomllib.loads(part.read_text(encoding="utf-8")))
        clash = merged.keys() & flat.keys()
        if clash:
            raise KeyError(f"catalog keys defined twice in {lang}/{part.name}: {sorted(clash)}")
        merged.update(flat)
    return merged


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = str(value)
    return flat


def languages() -> tuple[str, ...]:
    """Languages that have a catalog."""
    found = files(__name__).iterdir()
    return tuple(sorted(p.name for p in found if p.is_dir() and (p / "core.toml").is_file()))


def t(key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """The text for `key` in `lang`, with `{params}` filled in."""
    text = catalog(lang).get(key) or catalog(DEFAULT_LANG)[key]
    return text.format_map(params) if params else text


def has(key: str) -> bool:
    """True if English has the key (used for user errors coming from core)."""
    return key in catalog(DEFAULT_LANG)
