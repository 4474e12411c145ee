"""Message catalogs: handlers and core emit keys, never literal user-facing strings.

Each language is a TOML file (`en.toml`, …) of `key = "text with {params}"`, grouped
in tables (`[checkin] set = "…"` is the key `checkin.set`). A language missing a key
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
    resource = files(__name__) / f"{lang}.toml"
    if not resource.is_file():
        return {}
    return _flatten(tomllib.loads(resource.read_text(encoding="utf-8")))


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
    return tuple(
        sorted(
            p.name.removesuffix(".toml")
            for p in files(__name__).iterdir()
            if p.name.endswith(".toml")
        )
    )


def t(key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """The text for `key` in `lang`, with `{params}` filled in."""
    text = catalog(lang).get(key) or catalog(DEFAULT_LANG)[key]
    return text.format_map(params) if params else text


def has(key: str) -> bool:
    """True if English has the key (used for user errors coming from core)."""
    return key in catalog(DEFAULT_LANG)
