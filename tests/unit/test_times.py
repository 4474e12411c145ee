"""HH:MM parsing, timezone lookup and the DST questions of bot.core.times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from random import Random
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import UserError
from bot.core.times import (
    OffsetChange,
    format_hhmm,
    is_ambiguous,
    is_nonexistent,
    local_wall,
    offset_changes,
    parse_hhmm,
    parse_timezone,
    to_utc,
    wall_to_utc,
)
from bot.core.zones import AMBIGUOUS

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SANTIAGO = ZoneInfo("America/Santiago")
DST_ZONES = [
    "UTC",
    "Asia/Bangkok",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/Santiago",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Antarctica/Troll",
    "Asia/Tehran",
    "Africa/Cairo",
    "America/Havana",
]


# --- parse_hhmm / format_hhmm --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00", time(9, 0)),
        ("9:00", time(9, 0)),
        ("0:00", time(0, 0)),
        ("00:05", time(0, 5)),
        ("23:59", time(23, 59)),
        ("  7:30\n", time(7, 30)),
    ],
)
def test_parse_hhmm_accepts(text: str, expected: time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "24:00",
        "12:60",
        "9",
        "9:0",
        "09:000",
        "123:00",
        "ab:cd",
        "9.30",
        "-1:00",
        "+9:00",
        "09:00:00",
        "09 :00",
        "9am",
        "\u0660\u0669:\u0660\u0660",  # Arabic-Indic digits: refused, not read as 09:00
        "\uff10\uff19:\uff10\uff10",  # full-width digits
    ],
)
def test_parse_hhmm_rejects(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_hhmm(text)
    assert caught.value.key == "time.invalid"
    assert caught.value.params == {"value": text.strip()[:20]}


def test_parse_hhmm_truncates_the_echoed_value() -> None:
    with pytest.raises(UserError) as caught:
        parse_hhmm("x" * 100)
    assert caught.value.params["value"] == "x" * 20


@pytest.mark.parametrize(
    ("value", "text"), [(time(9, 0), "09:00"), (time(0, 5), "00:05"), (time(23, 59), "23:59")]
)
def test_format_hhmm(value: time, text: str) -> None:
    assert format_hhmm(value) == text


@settings(max_examples=200)
@given(st.text(max_size=30))
def test_parse_hhmm_never_raises_anything_else(text: str) -> None:
    try:
        result = parse_hhmm(text)
    except UserError as exc:
        assert exc.key == "time.invalid"
    else:
        assert result.second == 0 and result.tzinfo is None


@settings(max_examples=200)
@given(st.times().map(lambda t: t.replace(second=0, microsecond=0)))
def test_hhmm_round_trips(value: time) -> None:
    assert parse_hhmm(format_hhmm(value)) == value


# --- parse_timezone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Asia/Bangkok", "Asia/Bangkok"),
        ("asia/bangkok", "Asia/Bangkok"),
        ("  EUROPE/LONDON ", "Europe/London"),
        ("america/new york", "America/New_York"),
        ("UTC", "UTC"),
        ("america/argentina/buenos_aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_parse_timezone_canonical_case(text: str, key: str) -> None:
    zone = parse_timezone(text)
    assert isinstance(zone, ZoneInfo)
    assert zone.key == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "localtime",
        "LocalTime",
        "Factory",
        "/etc/passwd",
        "../../etc/passwd",
        "Europe/../Europe/London",
        "/usr/share/zoneinfo/UTC",
        "Mars/Olympus_Mons",
        "Europe/London\x00",
        "Bangkok",
        "+07:00",
    ],
)
def test_parse_timezone_rejects(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_timezone(text)
    assert caught.value.key == "tz.invalid"
    assert caught.value.params == {"value": text.strip()[:40]}


def test_parse_timezone_truncates_the_echoed_value() -> None:
    with pytest.raises(UserError) as caught:
        parse_timezone("Z" * 100)
    assert caught.value.params["value"] == "Z" * 40


@settings(max_examples=200)
@given(st.text(max_size=50))
def test_parse_timezone_never_raises_anything_else(text: str) -> None:
    try:
        zone = parse_timezone(text)
    except UserError as exc:
        assert exc.key in ("tz.invalid", "tz.ambiguous")
    else:
        assert zone.key.lower() == text.strip().replace(" ", "_").lower()


#: Every listed zone but the abbreviations that mean several places (EST, CET…).
_ZONE_NAMES = sorted(
    z for z in available_timezones() - {"localtime", "Factory"} if z.lower() not in AMBIGUOUS
)


@settings(max_examples=200)
@given(st.sampled_from(_ZONE_NAMES), st.randoms(use_true_random=False))
def test_parse_timezone_any_casing_of_a_listed_zone(name: str, rnd: Random) -> None:
    mangled = "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in name)
    assert parse_timezone(mangled).key == name


# --- aware helpers -------------------------------------------------------------------


def test_to_utc_and_local_wall() -> None:
    bangkok = ZoneInfo("Asia/Bangkok")
    at = datetime(2026, 1, 10, 9, 0, tzinfo=bangkok)
    assert to_utc(at) == datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
    assert to_utc(at).tzinfo is UTC
    assert local_wall(to_utc(at), bangkok).replace(tzinfo=None) == datetime(2026, 1, 10, 9, 0)


@pytest.mark.parametrize("func", [to_utc, lambda dt: local_wall(dt, LONDON)])
def test_naive_datetimes_are_refused(func: Callable[[datetime], datetime]) -> None:
    with pytest.raises(ValueError, match="aware"):
        func(datetime(2026, 1, 1, 9, 0))


# --- DST questions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "at", "nonexistent", "ambiguous"),
    [
        (LONDON, date(2026, 3, 29), time(0, 59), False, False),
        (LONDON, date(2026, 3, 29), time(1, 0), True, False),
        (LONDON, date(2026, 3, 29), time(1, 30), True, False),
        (LONDON, date(2026, 3, 29), time(2, 0), False, False),
        (LONDON, date(2026, 3, 28), time(1, 30), False, False),
        (LONDON, date(2026, 10, 25), time(0, 59), False, False),
        (LONDON, date(2026, 10, 25), time(1, 0), False, True),
        (LONDON, date(2026, 10, 25), time(1, 30), False, True),
        (LONDON, date(2026, 10, 25), time(2, 0), False, False),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), True, False),
        (NEW_YORK, date(2026, 11, 1), time(1, 30), False, True),
        (LORD_HOWE, date(2026, 10, 4), time(2, 15), True, False),
        (LORD_HOWE, date(2026, 10, 4), time(2, 30), False, False),
        (LORD_HOWE, date(2026, 4, 5), time(1, 45), False, True),
        (LORD_HOWE, date(2026, 4, 5), time(1, 15), False, False),
        (SANTIAGO, date(2026, 9, 6), time(0, 30), True, False),
        (SANTIAGO, date(2026, 4, 4), time(23, 30), False, True),
        (ZoneInfo("Asia/Bangkok"), date(2026, 3, 29), time(1, 30), False, False),
        (UTC, date(2026, 3, 29), time(1, 30), False, False),
        (timezone(timedelta(hours=5)), date(2026, 3, 29), time(1, 30), False, False),
    ],
)
def test_dst_questions(tz: tzinfo, day: date, at: time, nonexistent: bool, ambiguous: bool) -> None:
    assert is_nonexistent(day, at, tz) is nonexistent
    assert is_ambiguous(day, at, tz) is ambiguous


@pytest.mark.parametrize(
    ("tz", "day", "at", "expected"),
    [
        (LONDON, date(2026, 3, 29), time(1, 30), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        (LONDON, date(2026, 10, 25), time(1, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),
        (LORD_HOWE, date(2026, 10, 4), time(2, 15), datetime(2026, 10, 3, 15, 45, tzinfo=UTC)),
    ],
)
def test_wall_to_utc_is_the_first_or_shifted_instant(
    tz: tzinfo, day: date, at: time, expected: datetime
) -> None:
    assert wall_to_utc(day, at, tz) == expected


def test_aware_wall_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        is_nonexistent(date(2026, 3, 29), time(1, 30, tzinfo=UTC), LONDON)


@settings(max_examples=200)
@given(
    st.sampled_from(DST_ZONES),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2037, 12, 31)),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
)
def test_dst_questions_agree_with_round_trips(name: str, day: date, at: time) -> None:
    tz = ZoneInfo(name)
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    first_back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    second_back = second.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    assert not (is_nonexistent(day, at, tz) and is_ambiguous(day, at, tz))
    # A skipped wall time never comes back from UTC; a repeated one comes back both ways.
    assert is_nonexistent(day, at, tz) == (first_back != wall)
    if is_ambiguous(day, at, tz):
        assert first_back == second_back == wall
        assert first.astimezone(UTC) < second.astimezone(UTC)


# --- offset_changes ------------------------------------------------------------------


def test_offset_changes_london_2026() -> None:
    changes = offset_changes(
        LONDON, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert changes == [
        OffsetChange(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), timedelta(0), timedelta(hours=1)),
        OffsetChange(datetime(2026, 10, 25, 1, 0, tzinfo=UTC), timedelta(0), timedelta(hours=1)),
    ]


def test_offset_changes_lord_howe_half_hour_and_none_in_bangkok() -> None:
    year = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    half = [(c.high - c.low) for c in offset_changes(LORD_HOWE, *year)]
    assert half == [timedelta(minutes=30), timedelta(minutes=30)]
    assert offset_changes(ZoneInfo("Asia/Bangkok"), *year) == []


def test_offset_changes_refuses_naive_bounds() -> None:
    with pytest.raises(ValueError, match="aware"):
        offset_changes(LONDON, datetime(2026, 1, 1), datetime(2027, 1, 1, tzinfo=UTC))


# --- time zones as people name them (issue 16) ---------------------------------------

DEC = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("bangkok", "Asia/Bangkok"), ("Phnom Penh", "Asia/Phnom_Penh"),
        ("thailand", "Asia/Bangkok"),
        ("burma", "Asia/Yangon"), ("nepal", "Asia/Kathmandu"), ("delhi", "Asia/Kolkata"),
        ("saigon", "Asia/Ho_Chi_Minh"), ("uk", "Europe/London"), ("new york", "America/New_York"),
    ],
)  # fmt: skip
def test_cities_countries_and_aliases_name_a_zone(text: str, key: str) -> None:
    assert parse_timezone(text, DEC).key == key


@pytest.mark.parametrize(
    ("text", "why", "first"),
    [
        ("+7", "offset", "Asia/Bangkok"), ("UTC+07:00", "offset", "Asia/Bangkok"),
        ("+5:30", "offset", "Asia/Kolkata"), ("indonesia", "country", "Asia/Jakarta"),
        ("bangkokk", "similar", "Asia/Bangkok"),
    ],
)  # fmt: skip
def test_offsets_countries_and_typos_get_choices_never_a_guess(
    text: str, why: str, first: str
) -> None:
    with pytest.raises(UserError) as caught:
        parse_timezone(text, DEC)
    assert caught.value.key == f"tz.{why}"
    assert caught.value.params["first"] == first
    if why == "offset":
        assert "Asia/Jakarta" in caught.value.params["zones"] or first == "Asia/Kolkata"


@pytest.mark.parametrize("text", ["EST", "est", "PST", "IST", "CET", "EST5EDT", "MST"])
def test_abbreviations_that_mean_several_places_are_refused(text: str) -> None:
    for now in (None, DEC):
        with pytest.raises(UserError) as caught:
            parse_timezone(text, now)
        assert caught.value.key == "tz.ambiguous"
