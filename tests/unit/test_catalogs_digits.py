"""Numbers typed in the region's scripts read as their ASCII equivalents (issue 15).

Thai ๐-๙, Khmer ០-៩, Lao ໐-໙, Myanmar ၀-၉ and Devanagari ०-९: a time, a duration,
a schedule or a number written with them parses to exactly what the ASCII form
parses to. Where other scripts' digits were refused before (times, numbered
answers), they still are; durations already read every script's decimal digits.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.durations import MAX_DURATION, format_duration, parse_duration
from bot.core.errors import UserError
from bot.core.schedules import parse_schedule
from bot.core.text import DIGIT_SETS, ascii_digits, is_ascii_number
from bot.core.times import format_hhmm, parse_hhmm

SETS = ["0123456789", *DIGIT_SETS.values()]


def written(text: str, choose: st.DataObject) -> str:
    """`text` with each ASCII digit written in a digit set drawn per character (mixing allowed)."""
    return "".join(
        choose.draw(st.sampled_from(SETS))[int(ch)] if ch.isascii() and ch.isdigit() else ch
        for ch in text
    )


def test_the_five_digit_sets_are_the_unicode_ones() -> None:
    import unicodedata

    for code, digits in DIGIT_SETS.items():
        assert [unicodedata.digit(d) for d in digits] == list(range(10)), code
    assert ascii_digits("๑๒:๓๐ ១២ ໑໒ ၁၂ १२") == "12:30 12 12 12 12"


@given(st.times(), st.data())
def test_any_time_in_any_digit_set_parses_as_ascii(value: time, data: st.DataObject) -> None:
    text = format_hhmm(value)
    assert parse_hhmm(written(text, data)) == parse_hhmm(text)


@given(st.sampled_from(SETS), st.integers(0, 23), st.integers(0, 59))
def test_a_time_written_in_one_set_parses(digits: str, hour: int, minute: int) -> None:
    text = f"{hour}:{minute:02d}".translate(str.maketrans("0123456789", digits))
    assert parse_hhmm(text) == time(hour, minute)


@given(st.integers(1, int(MAX_DURATION.total_seconds())), st.data())
def test_any_duration_in_any_digit_set_parses_as_ascii(seconds: int, data: st.DataObject) -> None:
    text = format_duration(timedelta(seconds=seconds))
    assert parse_duration(written(text, data)) == parse_duration(text) == timedelta(seconds=seconds)


@given(st.sampled_from(SETS), st.sampled_from(["daily 09:00", "weekdays 08:30 18:45", "every 6h"]))
def test_a_schedule_in_any_digit_set_is_the_ascii_schedule(digits: str, spec: str) -> None:
    native = spec.translate(str.maketrans("0123456789", digits))
    assert parse_schedule(native) == parse_schedule(spec)


@given(st.integers(0, 10**6), st.data())
def test_numbers_in_any_digit_set_are_numbers(number: int, data: st.DataObject) -> None:
    text = written(str(number), data)
    assert is_ascii_number(text)
    assert int(ascii_digits(text)) == number


@pytest.mark.parametrize(
    "text",
    ["١٢:٣٠", "１２:３０", "۱۲:۳۰", "¹²:³⁰", "①②:③⓪", "᠑᠒:᠓᠐"],  # Arabic-Indic, full-width, …
)
def test_other_scripts_digits_are_still_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_hhmm(text)
    assert not is_ascii_number(text.replace(":", ""))
