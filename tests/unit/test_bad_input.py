"""Durations as people type them: table-driven refusals and Hypothesis properties.

The time and schedule parsers have their properties in test_times.py and
test_schedules.py; this file gives `bot.core.durations` the same: any text either
parses or raises `UserError` with a catalog key (never another exception), and
what is parsed prints back to the same value.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.durations import MAX_DURATION, check_bounds, format_duration, parse_duration
from bot.core.errors import UserError
from bot.i18n import has, t

DURATION_KEYS = {"duration.invalid", "duration.too_long"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("45m", timedelta(minutes=45)),
        ("3h", timedelta(hours=3)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 2H ", timedelta(hours=2)),
        ("0h5m", timedelta(minutes=5)),
        ("3650d", MAX_DURATION),
        ("１h", timedelta(hours=1)),  # decimal digits of any script, as people type them
        ("٤٥m", timedelta(minutes=45)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "duration.invalid"),
        ("   ", "duration.invalid"),
        ("0m", "duration.invalid"),
        ("0s", "duration.invalid"),
        ("-5m", "duration.invalid"),
        ("5", "duration.invalid"),
        ("m", "duration.invalid"),
        ("5 m", "duration.invalid"),
        ("1.5h", "duration.invalid"),
        ("30m1h", "duration.invalid"),  # units largest first
        ("1h1h", "duration.invalid"),
        ("1w", "duration.invalid"),
        ("soon", "duration.invalid"),
        ("²h", "duration.invalid"),  # a superscript is not a decimal digit
        ("99999999d", "duration.invalid"),
        ("3651d", "duration.too_long"),
        ("999999h", "duration.too_long"),
        ("'; DROP TABLE users; --", "duration.invalid"),
        ("\u0000\u202e5m", "duration.invalid"),
    ],
)
def test_parse_duration_refuses(text: str, key: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_duration(text)
    assert caught.value.key == key


def test_the_refusal_echoes_at_most_twenty_characters() -> None:
    with pytest.raises(UserError) as caught:
        parse_duration("x" * 5000)
    assert caught.value.params == {"value": "x" * 20}
    text = t(caught.value.key, "en", **caught.value.params)
    assert len(text) < 120 and "45m" in text


@pytest.mark.parametrize(
    ("value", "bounds", "key", "params"),
    [
        (
            timedelta(minutes=1),
            {"minimum": timedelta(minutes=5)},
            "duration.too_short",
            {"min": "5m"},
        ),
        (timedelta(days=8), {"maximum": timedelta(days=7)}, "duration.too_long", {"max": "7d"}),
    ],
)
def test_check_bounds_names_the_bound(
    value: timedelta, bounds: dict[str, timedelta], key: str, params: dict[str, str]
) -> None:
    with pytest.raises(UserError) as caught:
        check_bounds(value, **bounds)
    assert (caught.value.key, caught.value.params) == (key, params)
    assert check_bounds(timedelta(minutes=5), minimum=timedelta(minutes=5)) == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=2), "2d"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=59.9), "59s"),  # whole seconds only
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


_UNITS = st.sampled_from(["d", "h", "m", "s", "D", "H", "M", "S"])
_DURATIONISH = st.lists(
    st.tuples(st.integers(-5, 10**8).map(str), _UNITS).map("".join), max_size=5
).map("".join)


@given(st.one_of(st.text(max_size=40), _DURATIONISH))
@example("0d0h0m0s")
@example("9" * 7 + "s")
def test_parse_duration_raises_only_user_errors(text: str) -> None:
    try:
        value = parse_duration(text)
    except UserError as error:
        assert error.key in DURATION_KEYS and has(error.key)
        t(error.key, "en", **error.params)  # the message renders
        return
    assert timedelta(seconds=1) <= value <= MAX_DURATION
    assert value == timedelta(seconds=int(value.total_seconds()))


@given(st.integers(1, int(MAX_DURATION.total_seconds())).map(lambda s: timedelta(seconds=s)))
def test_format_then_parse_round_trips(value: timedelta) -> None:
    text = format_duration(value)
    assert parse_duration(text) == value
    assert format_duration(parse_duration(text)) == text


@given(_DURATIONISH)
def test_what_parses_prints_back_to_the_same_meaning(text: str) -> None:
    try:
        value = parse_duration(text)
    except UserError:
        return
    assert parse_duration(format_duration(value)) == value
