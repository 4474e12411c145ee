"""Dates, times and durations for people, through Babel (CLDR), in the reader's language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.durations import format_duration
from bot.core.text import format_ago
from bot.i18n.dates import duration, elapsed, local_time, long_date

BANGKOK = ZoneInfo("Asia/Bangkok")
WHEN = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # already Tuesday 2 June in Bangkok


def test_english_keeps_its_short_fixed_forms() -> None:
    assert local_time(WHEN, BANGKOK) == "Tue 02 Jun 06:30 (Asia/Bangkok)"
    assert long_date(date(2026, 3, 29)) == "29 Mar 2026"
    assert elapsed(timedelta(hours=2, minutes=10)) == "2h10m"
    assert duration(timedelta(minutes=90)) == "1h30m"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("th", "อังคาร 2 มิ.ย. 06:30 (Asia/Bangkok)"),
        ("km", "អង្គារ 2 មិថុនា 06:30 (Asia/Bangkok)"),
        ("lo", "ອັງຄານ 2 ມິ.ຖ. 06:30 (Asia/Bangkok)"),
        ("my", "ဇွန် 2၊ အင်္ဂါ 06:30 (Asia/Bangkok)"),
        ("ne", "जुन 2, मङ्गल 06:30 (Asia/Bangkok)"),
    ],
)
def test_weekday_and_month_in_the_readers_language_on_the_local_day(
    lang: str, expected: str
) -> None:
    assert local_time(WHEN, BANGKOK, lang) == expected


def test_elapsed_and_durations_name_their_units() -> None:
    assert elapsed(timedelta(minutes=45), "ne") == "45 मिनेट"
    assert elapsed(timedelta(hours=2, minutes=10), "th") == "2 ชั่วโมง 10 นาที"
    assert elapsed(timedelta(days=3), "km") == "3 ថ្ងៃ"
    assert elapsed(timedelta(seconds=40), "lo") == "40 ວິນາທີ"
    assert duration(timedelta(minutes=90), "my") == "1 နာရီ 30 မိနစ်"


def numbers(text: str) -> list[int]:
    return [int(n) for n in "".join(c if c.isdigit() else " " for c in text).split()]


@given(st.timedeltas(timedelta(0), timedelta(days=400)), st.sampled_from(["th", "km", "lo", "ne"]))
def test_elapsed_has_the_same_numbers_as_the_english(delta: timedelta, lang: str) -> None:
    english = numbers(format_ago(delta))
    assert numbers(elapsed(delta, lang)) == ([n for n in english if n] or [0])


@given(st.timedeltas(timedelta(seconds=1), timedelta(days=400)), st.sampled_from(["th", "ne"]))
def test_durations_have_the_same_numbers_as_the_english(value: timedelta, lang: str) -> None:
    value = timedelta(seconds=int(value.total_seconds()))
    assert numbers(duration(value, lang)) == numbers(format_duration(value))
