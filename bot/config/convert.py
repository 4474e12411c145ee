"""Turning raw values (TOML values, or environment strings) into the schema's types.

A value of the wrong type or form is reported through `Check` and its key is left at
the default, so loading goes on and finds every other problem too. Values of keys
in `NEVER_ECHO` are never repeated in the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from bot.config.messages import Check
from bot.config.schema import NEVER_ECHO
from bot.core.durations import format_duration, parse_duration
from bot.core.errors import UserError


@dataclass(frozen=True)
class Raw:
    """One value as given, before conversion, and where it came from."""

    value: Any
    env_var: str | None  # None when the value came from the file


class _Invalid(Exception):
    """A value of the wrong type or form; carries the message id and its parameters."""

    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.params = params


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _to_str(value: Any, from_env: bool) -> str:
    if isinstance(value, str):
        return value
    raise _Invalid("type.str")


def _to_int(value: Any, from_env: bool) -> int:
    if from_env:
        try:
            return int(value.strip())
        except ValueError:
            raise _Invalid("type.int.env") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Invalid("type.int")


def _to_bool(value: Any, from_env: bool) -> bool:
    if from_env:
        word = value.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise _Invalid("type.bool.env")
    if isinstance(value, bool):
        return value
    raise _Invalid("type.bool")


def _to_list(value: Any, from_env: bool) -> tuple[str, ...]:
    """A list of text: a TOML array of strings, or comma-separated in the environment."""
    if from_env:
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise _Invalid("type.list")


def _to_duration(value: Any, from_env: bool) -> timedelta:
    if not isinstance(value, str):
        raise _Invalid("type.duration")
    try:
        return parse_duration(value)
    except UserError as exc:  # duration.invalid or duration.too_long
        raise _Invalid(exc.key, **exc.params) from None


_CONVERTERS: dict[str, Callable[[Any, bool], Any]] = {
    "str": _to_str,
    "int": _to_int,
    "bool": _to_bool,
    "timedelta": _to_duration,
    "tuple[str, ...]": _to_list,
}


def build(section: str, cls: type, raw: dict[str, Raw], check: Check) -> Any:
    """Make one section object; a value of the wrong type is reported and left at default."""
    values: dict[str, Any] = {}
    for item in fields(cls):
        key = f"{section}.{item.name}"
        if key not in raw:
            continue
        given = raw[key]
        try:
            convert = _CONVERTERS[str(item.type)]
            values[item.name] = convert(given.value, given.env_var is not None)
        except _Invalid as exc:
            shown = "the value " if key in NEVER_ECHO else f'"{str(given.value)[:40]}" '
            default = item.default
            example = format_duration(default) if isinstance(default, timedelta) else ""
            check.add(key, exc.message_id, shown, name=item.name, example=example, **exc.params)
    return cls(**values)
