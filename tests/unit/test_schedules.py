"""Schedule grammar, next due instants across DST, and clock-change notices."""

from __future__ import annotations

import time as stopwatch
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import UserError
from bot.core.schedules import (
    ALL_DAYS,
    WEEKDAYS,
    DstNotice,
    ScheduleSpec,
    dst_notices,
    format_schedule,
    next_due,
    parse_schedule,
)
from bot.core.times import is_ambiguous, is_nonexistent, wall_to_utc

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
BANGKOK = ZoneInfo("Asia/Bangkok")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SANTIAGO = ZoneInfo("America/Santiago")

#: Zones with DST quirks, and the largest clock change each had in 2000-2037.
ZONE_SHIFTS: dict[str, timedelta] = {
    "UTC": timedelta(0),
    "Asia/Bangkok": timedelta(0),
    "Europe/London": timedelta(hours=1),
    "Europe/Dublin": timedelta(hours=1),  # "negative DST" in the tz database
    "America/New_York": timedelta(hours=1),
    "America/St_Johns": timedelta(hours=1),  # -03:30
    "America/Santiago": timedelta(hours=1),  # changes at midnight
    "America/Havana": timedelta(hours=1),  # changes at midnight
    "America/Sao_Paulo": timedelta(hours=1),  # midnight; DST abolished in 2019
    "Asia/Tehran": timedelta(hours=1),  # DST abolished in 2022
    "Africa/Cairo": timedelta(hours=1),  # DST on and off over the years
    "Australia/Lord_Howe": timedelta(minutes=30),
    "Pacific/Chatham": timedelta(hours=1),  # +12:45
    "Pacific/Apia": timedelta(hours=1),  # skipped 30 Dec 2011 (see note in the test)
    "Antarctica/Troll": timedelta(hours=2),
    "Asia/Kathmandu": timedelta(0),  # +05:45
}
ZONES = sorted(ZONE_SHIFTS)


def t(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def reference_next(spec: ScheduleSpec, tz: tzinfo, after: datetime) -> datetime:
    """The documented rule, by brute force: fold=0 reading of each scheduled local date."""
    start = after.astimezone(tz).date()
    candidates = [
        datetime.combine(start + timedelta(days=offset), at)
        .replace(tzinfo=tz, fold=0)
        .astimezone(UTC)
        for offset in range(-2, 10)
        if (start + timedelta(days=offset)).weekday() in spec.days
        for at in spec.times
    ]
    return min(c for c in candidates if c > after)


def chain(spec: ScheduleSpec, tz: tzinfo, after: datetime, count: int) -> list[datetime]:
    out = []
    for _ in range(count):
        after = next_due(spec, tz, after)
        out.append(after)
    return out


# --- parse_schedule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily 09:00", ScheduleSpec("daily", ALL_DAYS, (t("09:00"),))),
        ("DAILY 21:00 9:00 09:00", ScheduleSpec("daily", ALL_DAYS, (t("09:00"), t("21:00")))),
        ("daily 09:00,21:00", ScheduleSpec("daily", ALL_DAYS, (t("09:00"), t("21:00")))),
        ("  weekdays   08:30 ", ScheduleSpec("weekdays", WEEKDAYS, (t("08:30"),))),
        ("weekends 10:00", ScheduleSpec("days", (5, 6), (t("10:00"),))),
        ("mon,wed,fri 18:00", ScheduleSpec("days", (0, 2, 4), (t("18:00"),))),
        ("Fri,MON,mon 7:05", ScheduleSpec("days", (0, 4), (t("07:05"),))),
        ("Monday,wednesday 18:00", ScheduleSpec("days", (0, 2), (t("18:00"),))),
        ("mon, wed 18:00", ScheduleSpec("days", (0, 2), (t("18:00"),))),
        ("sun 23:59", ScheduleSpec("days", (6,), (t("23:59"),))),
        ("weekends,mon 10:00", ScheduleSpec("days", (0, 5, 6), (t("10:00"),))),
        ("mon,tue,wed,thu,fri 08:00", ScheduleSpec("weekdays", WEEKDAYS, (t("08:00"),))),
        ("mon,tue,wed,thu,fri,sat,sun 08:00", ScheduleSpec("daily", ALL_DAYS, (t("08:00"),))),
        ("weekdays,weekends 08:00", ScheduleSpec("daily", ALL_DAYS, (t("08:00"),))),
        ("every 6h", ScheduleSpec("every", every=timedelta(hours=6))),
        ("Every 1h30m", ScheduleSpec("every", every=timedelta(minutes=90))),
        ("every 15m", ScheduleSpec("every", every=timedelta(minutes=15))),
        ("every 7d", ScheduleSpec("every", every=timedelta(days=7))),
    ],
)
def test_parse_schedule(text: str, expected: ScheduleSpec) -> None:
    assert parse_schedule(text) == expected


TWELVE = " ".join(f"{h:02d}:00" for h in range(12))


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("", "schedule.usage", {}),
        ("   ", "schedule.usage", {}),
        ("daily", "schedule.usage", {}),
        ("09:00", "schedule.usage", {}),
        ("hello", "schedule.usage", {}),
        ("every", "schedule.usage", {}),
        ("every 6h 09:00", "schedule.usage", {}),
        (", 09:00", "schedule.usage", {}),
        ("funday 09:00", "schedule.bad_day", {"value": "funday"}),
        ("mon,xyz 09:00", "schedule.bad_day", {"value": "xyz"}),
        ("daily,mon,tues 09:00", "schedule.bad_day", {"value": "tues"}),
        ("daily 25:00", "time.invalid", {"value": "25:00"}),
        ("daily 9am", "time.invalid", {"value": "9am"}),
        ("daily 09:00 mon", "time.invalid", {"value": "mon"}),
        ("every soon", "duration.invalid", {"value": "soon"}),
        ("every 5m", "duration.too_short", {"min": "15m"}),
        ("every 8d", "duration.too_long", {"max": "7d"}),
        ("every 9999d", "duration.too_long", {"max": "7d"}),
        (f"daily {TWELVE} 12:00", "schedule.too_many_times", {"max": 12}),
    ],
)
def test_parse_schedule_errors(text: str, key: str, params: dict[str, object]) -> None:
    with pytest.raises(UserError) as caught:
        parse_schedule(text)
    assert caught.value.key == key
    assert caught.value.params == params


def test_twelve_times_are_allowed_and_duplicates_do_not_count() -> None:
    assert len(parse_schedule(f"daily {TWELVE}").times) == 12
    assert len(parse_schedule(f"daily {TWELVE} 00:00 0:00").times) == 12


_WORDS = st.sampled_from(
    [
        "daily",
        "weekdays",
        "weekends",
        "every",
        "mon",
        "Tue",
        "wednesday",
        "sun,sat",
        ",",
        "09:00",
        "9:5",
        "24:00",
        "23:59",
        "6h",
        "15m",
        "1d2h",
        "0s",
        "x",
        "",
        "12:00,13:00",
    ]
)


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=40), st.lists(_WORDS, max_size=6).map(" ".join)))
def test_parse_schedule_raises_only_user_errors(text: str) -> None:
    try:
        spec = parse_schedule(text)
    except UserError as exc:
        assert exc.key.split(".")[0] in {"schedule", "time", "duration"}
    else:
        assert parse_schedule(format_schedule(spec)) == spec


# --- format_schedule -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("daily 21:00 9:00", "daily 09:00 21:00"),
        ("weekdays 8:30", "weekdays 08:30"),
        ("fri,wed,mon 18:00", "mon,wed,fri 18:00"),
        ("saturday,sunday 10:00", "weekends 10:00"),
        ("sun,mon,tue,wed,thu,fri,sat 07:00", "daily 07:00"),
        ("every 360m", "every 6h"),
        ("every 90m", "every 1h30m"),
    ],
)
def test_format_schedule(text: str, canonical: str) -> None:
    assert format_schedule(parse_schedule(text)) == canonical


_WALL_TIMES = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@st.composite
def specs(draw: st.DrawFn, *, every: bool = True) -> ScheduleSpec:
    if every and draw(st.booleans()):
        seconds = draw(st.integers(15 * 60, 7 * 86400))
        return ScheduleSpec("every", every=timedelta(seconds=seconds))
    days = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1))))
    times = tuple(sorted(draw(st.sets(_WALL_TIMES, min_size=1, max_size=12))))
    kind = "daily" if days == ALL_DAYS else "weekdays" if days == WEEKDAYS else "days"
    return ScheduleSpec(kind, days, times)  # type: ignore[arg-type]


@settings(max_examples=200)
@given(specs())
def test_format_then_parse_round_trips(spec: ScheduleSpec) -> None:
    assert parse_schedule(format_schedule(spec)) == spec


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "weekly", "days": ALL_DAYS, "times": (t("09:00"),)},
        {"kind": "days", "days": ALL_DAYS, "times": (t("09:00"),)},
        {"kind": "days", "days": WEEKDAYS, "times": (t("09:00"),)},
        {"kind": "days", "days": (2, 0), "times": (t("09:00"),)},
        {"kind": "days", "days": (7,), "times": (t("09:00"),)},
        {"kind": "daily", "days": (0,), "times": (t("09:00"),)},
        {"kind": "daily", "days": ALL_DAYS, "times": ()},
        {"kind": "daily", "days": ALL_DAYS, "times": (t("21:00"), t("09:00"))},
        {"kind": "daily", "days": ALL_DAYS, "times": (time(9, 0, 30),)},
        {"kind": "daily", "days": ALL_DAYS, "times": (time(9, 0, tzinfo=UTC),)},
        {"kind": "every", "every": timedelta(minutes=5)},
        {"kind": "every", "every": timedelta(minutes=20, microseconds=1)},
        {"kind": "every", "every": None},
        {"kind": "every", "every": timedelta(hours=1), "times": (t("09:00"),)},
    ],
)
def test_spec_refuses_non_canonical_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ScheduleSpec(**kwargs)  # type: ignore[arg-type]


# --- next_due: plain cases -----------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2026, 1, 10, 1, 0), utc(2026, 1, 10, 2, 0)),
        (utc(2026, 1, 10, 2, 0), utc(2026, 1, 11, 2, 0)),  # strictly after
        (utc(2026, 1, 10, 3, 0), utc(2026, 1, 11, 2, 0)),
        (datetime(2026, 1, 10, 23, 0, tzinfo=BANGKOK), utc(2026, 1, 11, 2, 0)),
    ],
)
def test_daily_0900_bangkok(after: datetime, expected: datetime) -> None:
    due = next_due(parse_schedule("daily 09:00"), BANGKOK, after)
    assert due == expected
    assert due.tzinfo is UTC


def test_weekdays_skip_weekends() -> None:
    spec = parse_schedule("weekdays 08:30")
    dues = chain(spec, LONDON, utc(2026, 1, 9, 10, 0), 6)  # from Friday morning
    assert [d.date() for d in dues] == [
        date(2026, 1, 12),
        date(2026, 1, 13),
        date(2026, 1, 14),
        date(2026, 1, 15),
        date(2026, 1, 16),
        date(2026, 1, 19),
    ]
    assert all(d.time() == t("08:30") for d in dues)


def test_mon_wed_fri() -> None:
    dues = chain(parse_schedule("mon,wed,fri 18:00"), BERLIN, utc(2026, 1, 4, 12, 0), 6)
    assert [d.astimezone(BERLIN).strftime("%a %H:%M") for d in dues] == [
        "Mon 18:00",
        "Wed 18:00",
        "Fri 18:00",
    ] * 2
    assert dues[0] == utc(2026, 1, 5, 17, 0)


def test_several_times_a_day_in_order() -> None:
    dues = chain(parse_schedule("daily 21:00 09:00 13:00"), BERLIN, utc(2026, 6, 1, 0, 0), 7)
    assert [d.astimezone(BERLIN).strftime("%d %H:%M") for d in dues] == [
        "01 09:00",
        "01 13:00",
        "01 21:00",
        "02 09:00",
        "02 13:00",
        "02 21:00",
        "03 09:00",
    ]


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_due(parse_schedule("daily 09:00"), LONDON, datetime(2026, 1, 1))


# --- next_due: DST -------------------------------------------------------------------


def test_london_0130_across_spring_forward() -> None:
    dues = chain(parse_schedule("daily 01:30"), LONDON, utc(2026, 3, 26, 12, 0), 6)
    assert dues == [
        utc(2026, 3, 27, 1, 30),
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 29, 1, 30),  # 01:30 does not exist: due at 02:30 BST
        utc(2026, 3, 30, 0, 30),
        utc(2026, 3, 31, 0, 30),
        utc(2026, 4, 1, 0, 30),
    ]
    local_days = [d.astimezone(LONDON).date() for d in dues]
    assert local_days == [date(2026, 3, 27) + timedelta(days=i) for i in range(6)]


def test_london_0130_across_fall_back_fires_once() -> None:
    dues = chain(parse_schedule("daily 01:30"), LONDON, utc(2026, 10, 22, 12, 0), 6)
    assert dues == [
        utc(2026, 10, 23, 0, 30),
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),  # 01:30 BST, the first of the two 01:30s
        utc(2026, 10, 26, 1, 30),
        utc(2026, 10, 27, 1, 30),
        utc(2026, 10, 28, 1, 30),
    ]
    local_days = [d.astimezone(LONDON).date() for d in dues]
    assert local_days == [date(2026, 10, 23) + timedelta(days=i) for i in range(6)]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # APScheduler alone returns 01:30 GMT (01:30Z) here, then that again after it.
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),
        (utc(2026, 10, 25, 1, 0), utc(2026, 10, 26, 1, 30)),
        (utc(2026, 10, 25, 1, 30, 1), utc(2026, 10, 26, 1, 30)),
        # Inside the spring jump: APScheduler alone skips to the next day.
        (utc(2026, 3, 29, 1, 15), utc(2026, 3, 29, 1, 30)),
    ],
)
def test_london_0130_after_inside_the_change(after: datetime, expected: datetime) -> None:
    assert next_due(parse_schedule("daily 01:30"), LONDON, after) == expected


@pytest.mark.parametrize(
    ("text", "tz", "after", "expected"),
    [
        # 02:30 does not exist in New York on 8 March 2026: due at 03:30 EDT.
        ("daily 02:30", NEW_YORK, utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 7, 30)),
        ("daily 01:30", NEW_YORK, utc(2026, 11, 1, 0, 0), utc(2026, 11, 1, 5, 30)),
        # Lord Howe moves by 30 minutes at 02:00.
        ("daily 02:15", LORD_HOWE, utc(2026, 10, 3, 0, 0), utc(2026, 10, 3, 15, 45)),
        ("daily 01:45", LORD_HOWE, utc(2026, 4, 4, 0, 0), utc(2026, 4, 4, 14, 45)),
        ("daily 01:45", LORD_HOWE, utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)),
        # Santiago jumps at midnight; APScheduler alone skips that day.
        ("daily 00:30", SANTIAGO, utc(2026, 9, 5, 12, 0), utc(2026, 9, 6, 4, 30)),
        ("sun 00:30", SANTIAGO, utc(2026, 9, 1, 0, 0), utc(2026, 9, 6, 4, 30)),
        # First Monday after a change; APScheduler alone lands on Tuesday and skips it.
        ("mon 00:00", LONDON, utc(2026, 3, 26, 0, 0), utc(2026, 3, 29, 23, 0)),
    ],
)
def test_dst_cases(text: str, tz: tzinfo, after: datetime, expected: datetime) -> None:
    assert next_due(parse_schedule(text), tz, after) == expected


# --- next_due: every -----------------------------------------------------------------


def test_every_6h_is_a_fixed_utc_interval_across_dst() -> None:
    spec = parse_schedule("every 6h")
    anchor = utc(2026, 3, 28, 22, 17, 5)
    due, dues = anchor, []
    for _ in range(8):
        due = next_due(spec, LONDON, due, anchor=anchor)
        dues.append(due)
    assert dues == [anchor + timedelta(hours=6 * n) for n in range(1, 9)]


@pytest.mark.parametrize(
    ("after", "steps"),
    [
        (utc(2026, 1, 1, 0, 0), 0),  # before the anchor: the anchor itself
        (utc(2026, 3, 1, 9, 0, 0, 123456), 1),  # at the anchor: strictly after
        (utc(2026, 3, 1, 15, 0, 0, 123455), 1),
        (utc(2026, 3, 1, 15, 0, 0, 123456), 2),
        (utc(2036, 7, 1, 0, 0), 15_099),  # ten years on, still exact to the microsecond
    ],
)
def test_every_counts_from_the_anchor_exactly(after: datetime, steps: int) -> None:
    anchor = utc(2026, 3, 1, 9, 0, 0, 123456)
    due = next_due(parse_schedule("every 6h"), BANGKOK, after, anchor=anchor)
    assert due == anchor + steps * timedelta(hours=6)


def test_every_needs_an_aware_anchor() -> None:
    spec = parse_schedule("every 6h")
    with pytest.raises(ValueError, match="anchor"):
        next_due(spec, LONDON, utc(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        next_due(spec, LONDON, utc(2026, 1, 1), anchor=datetime(2026, 1, 1))


# --- next_due: properties ------------------------------------------------------------

_UNIFORM_AFTER = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31))
#: Most zones change their clocks in these months; bias `after` towards them.
_SEASON_AFTER = st.builds(
    datetime,
    st.integers(2000, 2037),
    st.sampled_from([3, 4, 9, 10, 11, 12]),
    st.integers(1, 28),
    st.integers(0, 23),
    st.sampled_from([0, 15, 30, 59]),
)
AFTERS = st.one_of(_UNIFORM_AFTER, _SEASON_AFTER).map(lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), specs(every=False), AFTERS)
def test_next_due_follows_the_documented_rule(
    name: str, spec: ScheduleSpec, after: datetime
) -> None:
    tz = ZoneInfo(name)
    previous = after
    for _ in range(4):
        due = next_due(spec, tz, previous)
        assert due.tzinfo is UTC
        assert due > previous
        assert due == reference_next(spec, tz, previous)
        previous = due


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), _WALL_TIMES, AFTERS)
def test_daily_single_time_is_about_a_day_apart(name: str, at: time, after: datetime) -> None:
    spec = ScheduleSpec("daily", ALL_DAYS, (at,))
    tz = ZoneInfo(name)
    dues = chain(spec, tz, after, 5)
    slack = max(ZONE_SHIFTS[name], timedelta(hours=1))  # 23-25 h unless the zone jumps 2 h
    for earlier, later in zip(dues, dues[1:], strict=False):
        assert timedelta(hours=24) - slack <= later - earlier <= timedelta(hours=24) + slack


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), specs(), AFTERS, st.integers(0, 10**8))
def test_next_due_strictly_increases(
    name: str, spec: ScheduleSpec, after: datetime, anchor_offset: int
) -> None:
    anchor = after - timedelta(seconds=anchor_offset)
    dues = []
    previous = after
    for _ in range(6):
        previous = next_due(spec, ZoneInfo(name), previous, anchor=anchor)
        dues.append(previous)
    assert dues[0] > after
    assert all(a < b for a, b in zip(dues, dues[1:], strict=False))


def test_apia_skipped_day_fires_once() -> None:
    # Samoa skipped Friday 30 December 2011. Its 09:00 reads, by the fold=0 rule, as
    # 09:00 under the old offset, which is the same instant as Saturday's 09:00.
    apia = ZoneInfo("Pacific/Apia")
    dues = chain(parse_schedule("daily 09:00"), apia, utc(2011, 12, 28, 0, 0), 4)
    assert dues == [
        utc(2011, 12, 28, 19),
        utc(2011, 12, 29, 19),
        utc(2011, 12, 30, 19),
        utc(2011, 12, 31, 19),
    ]


# --- dst_notices ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tz", "start", "days", "expected"),
    [
        (
            "daily 01:30",
            LONDON,
            utc(2026, 1, 1),
            366,
            [
                DstNotice(date(2026, 3, 29), t("01:30"), "shifted"),
                DstNotice(date(2026, 10, 25), t("01:30"), "once"),
            ],
        ),
        ("daily 09:00", LONDON, utc(2026, 1, 1), 366, []),
        ("daily 01:30", BANGKOK, utc(2026, 1, 1), 366, []),
        ("sat 01:30", LONDON, utc(2026, 1, 1), 366, []),  # both changes are on Sundays
        (
            "sun 01:30",
            LONDON,
            utc(2026, 1, 1),
            366,
            [
                DstNotice(date(2026, 3, 29), t("01:30"), "shifted"),
                DstNotice(date(2026, 10, 25), t("01:30"), "once"),
            ],
        ),
        ("daily 01:30", LONDON, utc(2026, 4, 1), 30, []),  # horizon
        ("daily 01:30", LONDON, utc(2026, 3, 29, 12), 1, []),  # that day's is already past
        (
            "daily 01:30",
            LONDON,
            utc(2026, 3, 29, 1, 29),
            1,
            [
                DstNotice(date(2026, 3, 29), t("01:30"), "shifted"),
            ],
        ),
        (
            "daily 01:30 02:30 09:00",
            NEW_YORK,
            utc(2026, 1, 1),
            366,
            [
                DstNotice(date(2026, 3, 8), t("02:30"), "shifted"),
                DstNotice(date(2026, 11, 1), t("01:30"), "once"),
            ],
        ),
        (
            "daily 01:45 02:15",
            LORD_HOWE,
            utc(2026, 1, 1),
            366,
            [
                DstNotice(date(2026, 4, 5), t("01:45"), "once"),
                DstNotice(date(2026, 10, 4), t("02:15"), "shifted"),
            ],
        ),
        (
            "daily 00:30 23:30",
            SANTIAGO,
            utc(2026, 1, 1),
            366,
            [
                DstNotice(date(2026, 4, 4), t("23:30"), "once"),
                DstNotice(date(2026, 9, 6), t("00:30"), "shifted"),
            ],
        ),
        ("every 6h", LONDON, utc(2026, 1, 1), 366, []),
    ],
)
def test_dst_notices(
    text: str, tz: tzinfo, start: datetime, days: int, expected: list[DstNotice]
) -> None:
    assert dst_notices(parse_schedule(text), tz, start, days) == tuple(expected)


def test_dst_notices_refuses_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        dst_notices(parse_schedule("daily 01:30"), LONDON, datetime(2026, 1, 1))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ZONES), specs(every=False), AFTERS)
def test_dst_notices_match_a_day_by_day_check(
    name: str, spec: ScheduleSpec, start: datetime
) -> None:
    tz = ZoneInfo(name)
    first = start.astimezone(tz).date()
    expected = []
    for offset in range(366):
        day = first + timedelta(days=offset)
        if day.weekday() not in spec.days:
            continue
        for at in spec.times:
            if wall_to_utc(day, at, tz) <= start:
                continue
            if is_nonexistent(day, at, tz):
                expected.append(DstNotice(day, at, "shifted"))
            elif is_ambiguous(day, at, tz):
                expected.append(DstNotice(day, at, "once"))
    assert dst_notices(spec, tz, start) == tuple(expected)


def test_dst_notices_for_a_year_is_cheap() -> None:
    spec = ScheduleSpec("daily", ALL_DAYS, tuple(time(h, 30) for h in range(12)))
    best = float("inf")
    for _ in range(5):
        began = stopwatch.perf_counter()
        dst_notices(spec, LONDON, utc(2026, 1, 1))
        best = min(best, stopwatch.perf_counter() - began)
    assert best < 0.020
