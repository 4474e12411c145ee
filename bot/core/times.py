"""Wall-clock times and IANA timezones as people type them, and DST-safe helpers.

Owns `HH:MM` parsing/printing, timezone-name lookup (`/tz Asia/Bangkok`), and the two
questions the scheduler asks about a wall time on a given day: does it exist at all
(spring forward) and does it happen twice (fall back)? Pure: no I/O beyond reading the
system's zone list once, no clock; every datetime handled here is timezone-aware.

The DST questions follow PEP 495: for a wall time `W` on a day, `fold=0` means "with
the offset in force before the transition" and `fold=1` "with the offset after it".
When those offsets differ the wall time is either skipped (offset went up) or repeated
(offset went down). `offset_changes` finds a zone's changes with public APIs only.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core import zones
from bot.core.errors import UserError
from bot.core.text import ascii_digits

_HHMM = re.compile(r"([0-9]{1,2}):([0-9]{2})")
#: Names in the zone list that are not places a person lives in.
_EXCLUDED_ZONES = frozenset({"localtime", "factory"})


def parse_hhmm(text: str) -> time:
    """Parse `H:MM` or `HH:MM` (00:00-23:59) into a naive `time`.

    ASCII digits, or the region's digits (`text.ascii_digits`); look-alike digits from
    other scripts are refused rather than silently read.

    Raises:
        UserError: `time.invalid` (param `value`, at most 20 characters).
    """
    cleaned = text.strip()
    match = _HHMM.fullmatch(ascii_digits(cleaned))
    if match is not None:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    raise UserError("time.invalid", value=cleaned[:20])


def format_hhmm(value: time) -> str:
    """Print a time as zero-padded `HH:MM`, the form `parse_hhmm` reads back."""
    return f"{value.hour:02d}:{value.minute:02d}"


@functools.cache
def _zone_table() -> dict[str, str]:
    """Map lower-cased IANA names to their canonical spelling; built once, on first use."""
    return {
        name.lower(): name for name in available_timezones() if name.lower() not in _EXCLUDED_ZONES
    }


def parse_timezone(name: str, now: datetime | None = None) -> ZoneInfo:
    """Look up a zone as people name it: `asia/bangkok`, `bangkok`, `thailand`, `+7`.

    IANA names match case-insensitively, spaces counting as underscores (`America/New
    York`); cities, countries and aliases are read by `bot.core.zones`. Only names in
    the system zone list are accepted, so a user string never reaches the filesystem
    (no paths, no `localtime`). Offsets are looked up at `now` (none without it).

    Raises:
        UserError: `tz.invalid` (param `value`, at most 40 characters); `tz.offset`,
            `tz.country` or `tz.similar` with `zones`; `tz.ambiguous` with an example.
    """
    cleaned = name.strip()
    value = cleaned[:40]
    if cleaned.replace(" ", "").casefold() in zones.AMBIGUOUS:  # the zone list has EST, MST…
        example = zones.EXAMPLES.get(cleaned.casefold(), "Bangkok")
        raise UserError("tz.ambiguous", value=value, example=example)
    canonical = _zone_table().get(cleaned.replace(" ", "_").lower()) if cleaned else None
    if canonical is None and cleaned and now is not None:
        answer = zones.understand(cleaned, now)
        canonical = answer.zone
        if canonical is None and answer.choices:
            shown = ", ".join(answer.choices)
            raise UserError(f"tz.{answer.why}", value=value, zones=shown, first=answer.choices[0])
    if canonical is not None:
        try:
            return ZoneInfo(canonical)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass  # listed but unreadable: answer as for any unknown name
    raise UserError("tz.invalid", value=value)


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return `value` if it is timezone-aware.

    Raises:
        ValueError: for a naive datetime; naive times are a programming error here.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC (what the store keeps).

    Raises:
        ValueError: for a naive datetime.
    """
    return require_aware(value).astimezone(UTC)


def local_wall(value: datetime, tz: tzinfo) -> datetime:
    """The aware datetime as the defender's clock shows it in `tz`.

    Raises:
        ValueError: for a naive datetime.
    """
    return require_aware(value).astimezone(tz)


def _offsets(day: date, at: time, tz: tzinfo) -> tuple[timedelta, timedelta]:
    """UTC offsets of the wall time under `fold=0` and `fold=1`."""
    if at.tzinfo is not None:
        raise ValueError(f"wall time must be naive, got {at!r}")
    wall = datetime.combine(day, at)
    before = wall.replace(tzinfo=tz, fold=0).utcoffset()
    after = wall.replace(tzinfo=tz, fold=1).utcoffset()
    if before is None or after is None:
        raise ValueError(f"{tz!r} gives no UTC offset")
    return before, after


def is_nonexistent(day: date, at: time, tz: tzinfo) -> bool:
    """True if the wall time is skipped on that day (falls in a spring-forward gap)."""
    before, after = _offsets(day, at, tz)
    return before < after


def is_ambiguous(day: date, at: time, tz: tzinfo) -> bool:
    """True if the wall time happens twice on that day (a fall-back overlap)."""
    before, after = _offsets(day, at, tz)
    return before > after


def wall_to_utc(day: date, at: time, tz: tzinfo) -> datetime:
    """The instant Holdfast means by "`at` on `day` in `tz`", as aware UTC.

    This is the `fold=0` reading: the first occurrence of a repeated wall time, and for
    a skipped one the instant the clock would have shown it under the old offset (later
    by the gap). See `bot.core.schedules` for the rule as shown to people.
    """
    _offsets(day, at, tz)  # validates `at` and `tz`
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


class OffsetChange(NamedTuple):
    """One change of a zone's UTC offset: the wall clock jumps between `low` and `high`.

    Wall times in `[at + low, at + high)` are skipped (offset went up) or repeated
    (offset went down) around the instant `at`.
    """

    at: datetime
    low: timedelta
    high: timedelta


def offset_changes(tz: tzinfo, low: datetime, high: datetime) -> list[OffsetChange]:
    """The zone's UTC offset changes in [`low`, `high`), found without private APIs.

    Samples every 6 hours and bisects to the second, so a year costs about 1,500
    offset look-ups. Two changes undoing each other within one 6-hour step would be
    missed; no zone in the tz database has such a pair between 2000 and 2040.

    Raises:
        ValueError: naive `low` or `high`.
    """
    step = timedelta(hours=6)
    cursor = to_utc(low).replace(microsecond=0)
    end = to_utc(high)
    offset = _offset_at(cursor, tz)
    changes = []
    while cursor < end:
        probe = cursor + step
        if _offset_at(probe, tz) == offset:
            cursor = probe
            continue
        before, at = cursor, probe
        while at - before > timedelta(seconds=1):
            mid = before + timedelta(seconds=(at - before).total_seconds() // 2)
            before, at = (mid, at) if _offset_at(mid, tz) == offset else (before, mid)
        new = _offset_at(at, tz)
        if at < end:
            changes.append(OffsetChange(at, min(offset, new), max(offset, new)))
        cursor, offset = at, new
    return changes


def _offset_at(instant: datetime, tz: tzinfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    return offset if offset is not None else timedelta(0)
