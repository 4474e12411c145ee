"""Dates and times for people, in the reader's language (Babel, CLDR data).

Weekday and month names come from CLDR in the reader's locale, in that locale's
order (`อังคาร 2 มิ.ย.`, `जुन 2, मङ्गल`); English keeps its short fixed form
(`Tue 02 Jun`). Clock times are always 24-hour `HH:MM` in ASCII digits, the form
people type back to set a check-in, and the zone's name follows in brackets.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton, get_day_names
from babel.units import format_unit

from bot.core.durations import format_duration
from bot.core.text import format_ago
from bot.core.times import format_hhmm


def weekday_and_day(local: datetime, lang: str) -> str:
    """`Tue 02 Jun` in English; the locale's short weekday, day and month otherwise."""
    if lang == "en":
        return format_datetime(local, "EEE dd MMM", tzinfo=local.tzinfo, locale="en")
    return format_skeleton("MMMEd", local, tzinfo=local.tzinfo, locale=lang)


def weekday(index: int, lang: str = "en") -> str:
    """A weekday's full name in the reader's language (0 is Monday, as `date.weekday()`)."""
    return str(get_day_names("wide", locale=lang)[index])


def local_time(when: datetime, zone: ZoneInfo, lang: str = "en") -> str:
    """A moment as the reader sees it: weekday, date and HH:MM in their zone, and the zone."""
    local = when.astimezone(zone)
    return f"{weekday_and_day(local, lang)} {format_hhmm(local.time())} ({zone.key})"


def long_date(day: date, lang: str = "en") -> str:
    """A calendar day with its year: `01 Jun 2026` in English, the locale's form otherwise."""
    if lang == "en":
        return f"{day:%d %b %Y}"
    return format_skeleton("yMMMd", day, locale=lang)


def elapsed(delta: timedelta, lang: str = "en") -> str:
    """How long ago, for an alert: `2h10m` in English, `2 ชั่วโมง 10 นาที` in Thai.

    The same parts as `text.format_ago` (seconds under a minute; then days and hours,
    or hours and minutes), each written with CLDR's unit names in the reader's language.
    """
    if lang == "en":
        return format_ago(delta)
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        parts = [(seconds, "second")]
    else:
        days, rest = divmod(seconds // 60, 24 * 60)
        hours, minutes = divmod(rest, 60)
        if days:
            parts = [(days, "day"), (hours, "hour")]
        else:
            parts = [(hours, "hour"), (minutes, "minute")] if hours else [(minutes, "minute")]
    return " ".join(
        format_unit(value, f"duration-{unit}", length="long", locale=lang)
        for value, unit in parts
        if value or len(parts) == 1
    )


def duration(value: timedelta, lang: str = "en") -> str:
    """A length of time for a reader: `1h30m` in English, `1 ชั่วโมง 30 นาที` in Thai.

    English keeps the form people type; other languages get each non-zero part with
    CLDR's unit names.
    """
    if lang == "en":
        return format_duration(value)
    remaining = max(0, int(value.total_seconds()))
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(format_unit(count, f"duration-{unit}", length="long", locale=lang))
    return " ".join(parts) or format_unit(0, "duration-second", length="long", locale=lang)
