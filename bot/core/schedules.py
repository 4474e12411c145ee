"""Recurring check-in schedules: `/checkin daily 09:00 …` → `ScheduleSpec` → due instants.

Owns the schedule grammar (`parse_schedule` / `format_schedule`, which round-trip),
the next due instant after a given moment (`next_due`), and the list of days on which
daylight-saving time changes when a check-in happens (`dst_notices`). Pure: time is
passed in, results are aware UTC. Recurrence is computed with APScheduler triggers
used only as date math (`get_next_fire_time(None, now)`), never as a running scheduler.

Daylight-saving rule (shown to people):

* A check-in time is a time on the defender's own clock, in their timezone, on each
  scheduled day. `every` schedules are different: they repeat a fixed length of real
  time from the moment they were created and ignore clock changes.
* Clocks go forward (a time that day does not exist): the check-in is due when the
  clock would have shown that time without the change, i.e. later by the size of the
  jump. 01:30 in Europe/London on 29 March 2026 is due at 02:30 BST (01:30 UTC);
  02:30 in America/New_York on 8 March 2026 is due at 03:30 EDT. If that lands on
  another time of the same schedule, the check-in is due once.
* Clocks go back (a time that day happens twice): the check-in is due once, the first
  time. 01:30 in Europe/London on 25 October 2026 is due at 01:30 BST (00:30 UTC) and
  not again at 01:30 GMT.

In PEP 495 terms every due instant is the `fold=0` reading of the wall time on its
day (`bot.core.times.wall_to_utc`). APScheduler 3.11 alone differs from this near clock
changes: it fires a repeated wall time twice (and, given the second as
`previous_fire_time`, returns it again), and it can skip a scheduled day entirely (a
forward jump at midnight, `now` inside a jump, or the first scheduled day after a
change for a time within the jump's size of midnight). `next_due` drops the repeats and
checks the few scheduled days up to APScheduler's answer, so the rule above holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.durations import check_bounds, format_duration, parse_duration
from bot.core.errors import UserError
from bot.core.text import ascii_digits
from bot.core.times import (
    format_hhmm,
    is_ambiguous,
    is_nonexistent,
    offset_changes,
    parse_hhmm,
    to_utc,
    wall_to_utc,
)

Kind = Literal["daily", "weekdays", "days", "every"]
KINDS: frozenset[str] = frozenset({"daily", "weekdays", "days", "every"})
ALL_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
WEEKENDS: tuple[int, ...] = (5, 6)
MAX_TIMES = 12
EVERY_MIN = timedelta(minutes=15)
EVERY_MAX = timedelta(days=7)

_DAY_ABBR = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_WORDS: dict[str, tuple[int, ...]] = {
    **{name: (i,) for i, name in enumerate(_DAY_ABBR)},
    **{name: (i,) for i, name in enumerate(_DAY_FULL)},
    "daily": ALL_DAYS,
    "weekdays": WEEKDAYS,
    "weekends": WEEKENDS,
}
#: Enough for the fall-back skip plus APScheduler's no-progress quirk; never reached.
_MAX_STEPS = 16
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A parsed, canonical schedule; construction validates it.

    Attributes:
        kind: "daily", "weekdays", "days" (explicit days) or "every" (fixed interval).
        days: 0=Mon … 6=Sun, sorted and unique; empty for "every". A "days" spec is
            never all seven days nor exactly Mon-Fri (those are "daily"/"weekdays"),
            so equal schedules compare equal.
        times: naive wall times, whole minutes, sorted and unique, 1 to 12; empty for
            "every".
        every: the interval for "every" (whole seconds, 15m to 7d), else None.
    """

    kind: Kind
    days: tuple[int, ...] = ()
    times: tuple[time, ...] = ()
    every: timedelta | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown schedule kind {self.kind!r}")
        if self.kind == "every":
            self._check_every()
        else:
            self._check_days()
            self._check_times()

    def _check_every(self) -> None:
        every = self.every
        if self.days or self.times or every is None:
            raise ValueError("an 'every' schedule has an interval and no days or times")
        if every % timedelta(seconds=1) or not EVERY_MIN <= every <= EVERY_MAX:
            raise ValueError(f"interval out of range: {every!r}")

    def _check_days(self) -> None:
        if self.every is not None:
            raise ValueError("only 'every' schedules have an interval")
        expected = {"daily": ALL_DAYS, "weekdays": WEEKDAYS}.get(self.kind)
        if expected is not None and self.days != expected:
            raise ValueError(f"{self.kind} schedule must have days {expected}")
        if self.kind == "days" and (
            not self.days
            or self.days in (ALL_DAYS, WEEKDAYS)
            or self.days != tuple(sorted(set(self.days)))
            or not set(self.days) <= set(ALL_DAYS)
        ):
            raise ValueError(f"bad or non-canonical days {self.days!r}")

    def _check_times(self) -> None:
        times = self.times
        if not 1 <= len(times) <= MAX_TIMES or times != tuple(sorted(set(times))):
            raise ValueError(f"times must be 1-{MAX_TIMES}, sorted and unique: {times!r}")
        if any(t.tzinfo is not None or t.second or t.microsecond for t in times):
            raise ValueError(f"times must be naive whole minutes: {times!r}")


@dataclass(frozen=True, slots=True)
class DstNotice:
    """A day on which one of a schedule's times meets a clock change.

    Attributes:
        day: the local date of the scheduled time.
        local_time: the scheduled wall time.
        kind: "shifted" (the time does not exist; due later by the jump) or "once" (the
            time happens twice; due only the first time).
    """

    day: date
    local_time: time
    kind: Literal["shifted", "once"]


# --- grammar -------------------------------------------------------------------------


def parse_schedule(text: str) -> ScheduleSpec:
    """Parse the text after `/checkin` into a canonical `ScheduleSpec`.

    Forms: `daily 09:00 [21:00 …]`, `weekdays 08:30`, `weekends 10:00`,
    `mon,wed,fri 18:00` (short or full day names, any case, commas and/or spaces),
    `every 6h` (15m to 7d). Times may be separated by spaces and/or commas. Any
    string either parses or raises `UserError`.

    Raises:
        UserError: `schedule.usage`, `schedule.bad_day` (value),
            `schedule.too_many_times` (max), `time.invalid` (value),
            `duration.invalid` (value), `duration.too_short` (min),
            `duration.too_long` (max).
    """
    words = ascii_digits(text).split()  # `daily ๐๙:๐๐` is `daily 09:00`
    if not words:
        raise UserError("schedule.usage")
    if words[0].lower() == "every":
        if len(words) != 2:
            raise UserError("schedule.usage")
        return ScheduleSpec("every", every=_parse_every(words[1]))
    first_time = next((i for i, w in enumerate(words) if w[0] in "0123456789"), 0)
    if first_time == 0:
        raise UserError("schedule.usage")
    days = _parse_days(words[:first_time])
    words_of_times = ",".join(words[first_time:]).split(",")
    times = tuple(sorted({parse_hhmm(word) for word in words_of_times if word}))
    if len(times) > MAX_TIMES:
        raise UserError("schedule.too_many_times", max=MAX_TIMES)
    kind: Kind = "daily" if days == ALL_DAYS else "weekdays" if days == WEEKDAYS else "days"
    return ScheduleSpec(kind, days=days, times=times)


def _parse_days(words: list[str]) -> tuple[int, ...]:
    """Day words (`mon,wed`, `friday`, `weekends`, …) → sorted unique day numbers."""
    days: set[int] = set()
    for word in words:
        for name in word.lower().split(","):
            if not name:
                continue
            if name not in _DAY_WORDS:
                raise UserError("schedule.bad_day", value=name[:20])
            days.update(_DAY_WORDS[name])
    if not days:
        raise UserError("schedule.usage")
    return tuple(sorted(days))


def _parse_every(word: str) -> timedelta:
    """The interval of `every …`, bounded to 15m-7d; errors name this form's bounds."""
    try:
        every = parse_duration(word)
    except UserError as exc:
        if exc.key == "duration.too_long":
            raise UserError("duration.too_long", max=format_duration(EVERY_MAX)) from None
        raise
    return check_bounds(every, minimum=EVERY_MIN, maximum=EVERY_MAX)


def format_schedule(spec: ScheduleSpec) -> str:
    """Print the canonical text of a schedule; `parse_schedule` reads it back equal."""
    if spec.kind == "every":
        assert spec.every is not None  # guaranteed by ScheduleSpec validation
        return f"every {format_duration(spec.every)}"
    if spec.days == ALL_DAYS:
        head = "daily"
    elif spec.days == WEEKDAYS:
        head = "weekdays"
    elif spec.days == WEEKENDS:
        head = "weekends"
    else:
        head = ",".join(_DAY_ABBR[d] for d in spec.days)
    return " ".join([head, *(format_hhmm(t) for t in spec.times)])


# --- recurrence ----------------------------------------------------------------------


def next_due(
    spec: ScheduleSpec,
    tz: tzinfo,
    after: datetime,
    anchor: datetime | None = None,
) -> datetime:
    """The first due instant strictly after `after`, as aware UTC.

    Time-of-day schedules follow the module's daylight-saving rule in `tz`. `every`
    schedules fire at `anchor + n * every` (n >= 0) and need `anchor`, the moment the
    schedule was created.

    Raises:
        ValueError: naive `after`/`anchor`, or no `anchor` for an `every` schedule.
    """
    after = to_utc(after)
    if spec.kind == "every":
        if anchor is None or spec.every is None:
            raise ValueError("an 'every' schedule needs its anchor")
        return _next_every(spec.every, to_utc(anchor), after)
    return min(
        _next_at(trigger, at, spec.days, tz, after)
        for at, trigger in _cron_triggers(spec.days, spec.times, tz)
    )


@functools.lru_cache(maxsize=1024)
def _cron_triggers(
    days: tuple[int, ...], times: tuple[time, ...], tz: tzinfo
) -> tuple[tuple[time, CronTrigger], ...]:
    """One CronTrigger per time (hour × minute lists would fire at cross products)."""
    day_of_week = None if days == ALL_DAYS else ",".join(map(str, days))
    return tuple(
        (at, CronTrigger(day_of_week=day_of_week, hour=at.hour, minute=at.minute, timezone=tz))
        for at in times
    )


def _next_at(
    trigger: CronTrigger, at: time, days: tuple[int, ...], tz: tzinfo, after: datetime
) -> datetime:
    """Next `fold=0` due instant of one wall time: APScheduler's answer, then checked."""
    cursor = after
    for _ in range(_MAX_STEPS):
        # previous_fire_time=None: APScheduler then rounds `now` up in UTC; with a
        # previous time it rounds in local time and can loop on a repeated hour.
        raw = trigger.get_next_fire_time(None, cursor + _TICK)
        if raw is None:  # only past the trigger's year range (9999)
            break
        raw_utc = raw.astimezone(UTC)
        if raw_utc <= cursor:  # no progress; step past it rather than loop
            cursor += timedelta(seconds=1)
            continue
        cursor = raw_utc
        day, wall = raw.date(), raw.time().replace(fold=0)
        if wall != at or day.weekday() not in days:
            continue  # not an occurrence at all; never seen, but cheap to refuse
        if raw.fold == 1 and is_ambiguous(day, wall, tz):
            continue  # the second occurrence of a repeated wall time: due only once
        due = wall_to_utc(day, wall, tz)
        if due > after:
            return _earlier_missed(due, at, days, tz, after)
    raise RuntimeError(f"no due time found for {at} in {tz} after {after}")


def _earlier_missed(
    due: datetime, at: time, days: tuple[int, ...], tz: tzinfo, after: datetime
) -> datetime:
    """The earliest occurrence in (`after`, `due`) that APScheduler skipped, else `due`.

    APScheduler 3.11 steps through days by adding wall-clock differences in UTC, so
    near a clock change it can land an hour past the wanted time and skip that day:
    a forward jump at midnight, `now` inside a jump, or the first scheduled day after
    a change when the time is within the jump's size of midnight. Checking the few
    scheduled days up to `due` (at most 9) makes the `fold=0` rule the source of truth.
    """
    day = after.astimezone(tz).date() - timedelta(days=1)
    last = due.astimezone(tz).date()
    while day <= last:
        if day.weekday() in days:
            candidate = wall_to_utc(day, at, tz)
            if after < candidate < due:
                return candidate
        day += timedelta(days=1)
    return due


def _next_every(every: timedelta, anchor: datetime, after: datetime) -> datetime:
    """`anchor + n * every`, the first one after `after`; a fixed UTC interval."""
    trigger = IntervalTrigger(seconds=int(every.total_seconds()), start_date=anchor, timezone=UTC)
    raw = trigger.get_next_fire_time(None, after)
    # APScheduler counts in float seconds; snap to the exact multiple of the interval.
    steps: int = max(0, round((raw.astimezone(UTC) - anchor) / every))
    due = anchor + steps * every
    while due <= after:
        due += every
    return due


# --- clock-change notices ------------------------------------------------------------


def dst_notices(
    spec: ScheduleSpec, tz: tzinfo, start: datetime, days: int = 366
) -> tuple[DstNotice, ...]:
    """Upcoming occurrences, on the `days` local dates from `start`'s, that meet a change.

    Only occurrences due after `start` count, so a change earlier today is not
    announced. Scans the zone's offset changes, then checks only the times near each
    one, so a year costs a few thousand offset look-ups. Empty for `every` schedules.

    Raises:
        ValueError: naive `start`.
    """
    start = to_utc(start)
    if spec.kind == "every" or days <= 0:
        return ()
    first = start.astimezone(tz).date()
    end = first + timedelta(days=days)
    found: set[DstNotice] = set()
    margin = timedelta(days=2)
    for change in offset_changes(tz, start - margin, start + timedelta(days) + margin):
        wall_lo, wall_hi = _naive(change.at + change.low), _naive(change.at + change.high)
        day = wall_lo.date()
        while day <= wall_hi.date():
            if first <= day < end and day.weekday() in spec.days:
                found.update(_notices_on(day, spec.times, tz, wall_lo, wall_hi, start))
            day += timedelta(days=1)
    return tuple(sorted(found, key=lambda n: (n.day, n.local_time)))


def _notices_on(
    day: date,
    times: tuple[time, ...],
    tz: tzinfo,
    wall_lo: datetime,
    wall_hi: datetime,
    start: datetime,
) -> list[DstNotice]:
    """Notices for the times on `day` in the changed wall interval, due after `start`."""
    notices = []
    for at in times:
        if not wall_lo <= datetime.combine(day, at) < wall_hi:
            continue
        if wall_to_utc(day, at, tz) <= start:
            continue
        if is_nonexistent(day, at, tz):
            notices.append(DstNotice(day, at, "shifted"))
        elif is_ambiguous(day, at, tz):
            notices.append(DstNotice(day, at, "once"))
    return notices


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None)


__all__ = [
    "ALL_DAYS",
    "EVERY_MAX",
    "EVERY_MIN",
    "MAX_TIMES",
    "WEEKDAYS",
    "WEEKENDS",
    "DstNotice",
    "ScheduleSpec",
    "dst_notices",
    "format_schedule",
    "next_due",
    "parse_schedule",
]
