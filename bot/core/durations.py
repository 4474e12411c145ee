"""Durations as people type them: `90s`, `45m`, `3h`, `2d`, `1h30m`.

Units go from largest to smallest, each at most once; the total must be positive.
`format_duration` prints the canonical form, which parses back to the same value.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.core.errors import UserError
from bot.core.text import ascii_digits

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PATTERN = re.compile(r"(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,7})s)?")
#: Nothing Holdfast schedules is further away than this; it also keeps arithmetic safe.
MAX_DURATION = timedelta(days=3650)


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """Parse a duration such as `1h30m`.

    With `allow_zero`, `0s` parses to zero, so the caller's bounds can say "too
    short" (`/timer 0s` is a duration, just not a usable one).

    Raises:
        UserError: `duration.invalid` when the text is not a duration.
    """
    cleaned = ascii_digits(text.strip().lower())
    match = _PATTERN.fullmatch(cleaned) if cleaned else None
    if match is None or not any(match.groups()):
        raise UserError("duration.invalid", value=text.strip()[:20])
    seconds = sum(
        int(part) * factor
        for part, factor in zip(match.groups(), _UNITS.values(), strict=True)
        if part
    )
    if seconds <= 0 and not allow_zero:
        raise UserError("duration.invalid", value=text.strip()[:20])
    if seconds > MAX_DURATION.total_seconds():
        raise UserError("duration.too_long", max=format_duration(MAX_DURATION))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Print a duration in canonical form (`1h30m`, `2d`, `45s`); whole seconds only."""
    remaining = int(value.total_seconds())
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, factor in _UNITS.items():
        count, remaining = divmod(remaining, factor)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def check_bounds(
    value: timedelta,
    *,
    minimum: timedelta | None = None,
    maximum: timedelta | None = None,
) -> timedelta:
    """Return `value` if within bounds.

    Raises:
        UserError: `duration.too_short` or `duration.too_long`, naming the bound.
    """
    if minimum is not None and value < minimum:
        raise UserError("duration.too_short", min=format_duration(minimum))
    if maximum is not None and value > maximum:
        raise UserError("duration.too_long", max=format_duration(maximum))
    return value
