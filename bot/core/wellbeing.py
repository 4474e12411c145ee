"""Well-being rules, pure: how things are, the trend, the nudge, and what organisers may see.

Well-being is part of security (holistic-security training): exhaustion and fear
are risks in themselves. These rules decide; the handlers act. Everything here is
a function of plain values with `now` passed in, so property tests can hammer it:

- `trend`: last 7 days against the 7 before, by the mean score; a change of half
  a point or more is "better" or "worse", anything smaller is "about the same",
  and a week with no score gives no trend at all (never a guess).
- `nudge_reason`: three low scores (1-2) in a row, or "exhausted" twice within 7
  days, gets one gentle private word, at most once a week. Never an alert.
- `group_view`: an organiser sees the group's weekly average and how many said
  "need to talk" only when at least `K_MIN` members answered that week
  (k-anonymity); otherwise nothing that depends on anyone's answers.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class Feeling(enum.StrEnum):
    """How things are, one tap after an OK (close to Círculo's vocabulary)."""

    SAFE = "safe"
    UNSURE = "unsure"
    SCARED = "scared"
    HARASSED = "harassed"  # harassed online
    EXHAUSTED = "exhausted"
    TALK = "talk"  # need to talk


#: Feelings that offer, never force, "tell my contacts".
OFFER_CONTACTS = frozenset({Feeling.SCARED, Feeling.HARASSED})
#: Feelings that offer "ask my buddy to check on me".
OFFER_BUDDY = frozenset({Feeling.TALK})

LOW_SCORE = 2
LOW_IN_A_ROW = 3
EXHAUSTED_TIMES = 2
WEEK = timedelta(days=7)
NUDGE_EVERY = WEEK
#: Trend threshold: a change smaller than this is "about the same".
TREND_STEP = 0.5
#: k-anonymity: organisers see nothing built from fewer members than this.
K_MIN = 5
#: Longest view `/wellbeing` draws, and the long retention a defender may choose.
MAX_DAYS = 90
KEEP_LONG = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Entry:
    """One answer: when, the score (1-5) if given, the feeling if given."""

    at: datetime
    score: int | None = None
    feeling: Feeling | None = None


@dataclass(frozen=True, slots=True)
class Day:
    """One day of the picture: the mean score (None: a gap) and the feelings marked."""

    day: date
    score: float | None
    feelings: frozenset[Feeling]


class Trend(enum.StrEnum):
    """The direction the caption states."""

    BETTER = "better"
    WORSE = "worse"
    SAME = "same"
    UNKNOWN = "unknown"  # a week without any score: say nothing about direction


class Nudge(enum.StrEnum):
    """Why a gentle word is sent."""

    LOW = "low"
    EXHAUSTED = "exhausted"


def parse_feeling(word: str) -> Feeling:
    """A typed feeling (`scared`, `harassed`, `talk`) → Feeling; ValueError if unknown."""
    return Feeling(word.strip().casefold())


def days(entries: Iterable[Entry], *, today: date, count: int, zone: ZoneInfo) -> list[Day]:
    """The last `count` days up to `today` (local dates), oldest first, gaps included."""
    first = today - timedelta(days=count - 1)
    scores: dict[date, list[int]] = {}
    feelings: dict[date, set[Feeling]] = {}
    for e in entries:
        d = e.at.astimezone(zone).date()
        if not first <= d <= today:
            continue
        if e.score is not None:
            scores.setdefault(d, []).append(e.score)
        if e.feeling is not None:
            feelings.setdefault(d, set()).add(e.feeling)
    out = []
    for i in range(count):
        d = first + timedelta(days=i)
        found = scores.get(d)
        mean = sum(found) / len(found) if found else None
        out.append(Day(d, mean, frozenset(feelings.get(d, ()))))
    return out


def _mean(values: Sequence[int]) -> float | None:
    return sum(values) / len(values) if values else None


def trend(entries: Iterable[Entry], now: datetime) -> Trend:
    """The last 7 days against the 7 days before, by mean score."""
    recent: list[int] = []
    before: list[int] = []
    for e in entries:
        if e.score is None or e.at > now:
            continue
        age = now - e.at
        if age < WEEK:
            recent.append(e.score)
        elif age < 2 * WEEK:
            before.append(e.score)
    now_mean, then_mean = _mean(recent), _mean(before)
    if now_mean is None or then_mean is None:
        return Trend.UNKNOWN
    change = now_mean - then_mean
    if change >= TREND_STEP:
        return Trend.BETTER
    if change <= -TREND_STEP:
        return Trend.WORSE
    return Trend.SAME


def nudge_reason(
    entries: Iterable[Entry], now: datetime, last_nudge_at: datetime | None
) -> Nudge | None:
    """Whether a gentle word is due now (at most one per `NUDGE_EVERY`)."""
    if last_nudge_at is not None and now - last_nudge_at < NUDGE_EVERY:
        return None
    ordered = sorted((e for e in entries if e.at <= now), key=lambda e: e.at)
    scores = [e.score for e in ordered if e.score is not None]
    last = scores[-LOW_IN_A_ROW:]
    if len(last) == LOW_IN_A_ROW and all(s <= LOW_SCORE for s in last):
        return Nudge.LOW
    tired = [e for e in ordered if e.feeling == Feeling.EXHAUSTED and now - e.at < WEEK]
    if len(tired) >= EXHAUSTED_TIMES:
        return Nudge.EXHAUSTED
    return None


@dataclass(frozen=True, slots=True)
class GroupView:
    """What an organiser may see of a week: built from at least `K_MIN` members."""

    members: int
    average: float | None
    need_to_talk: int


def group_view(answers: Mapping[int, Sequence[Entry]]) -> GroupView | None:
    """The week's view from each opted-in member's answers, or None below `K_MIN`.

    `answers` maps a member to their answers of the week. A member counts when they
    answered at all; the average is of per-member means, so one member answering
    ten times weighs as much as one answering once. `need_to_talk` counts members.
    """
    answered = {m: list(es) for m, es in answers.items() if es}
    if len(answered) < K_MIN:
        return None
    found = [_mean([e.score for e in es if e.score is not None]) for es in answered.values()]
    means = [m for m in found if m is not None]
    average = round(sum(means) / len(means), 1) if means else None
    talk = sum(1 for es in answered.values() if any(e.feeling == Feeling.TALK for e in es))
    return GroupView(len(answered), average, talk)


def retention(default: timedelta, keep_long: bool) -> timedelta:
    """How long a defender's well-being history is kept."""
    return max(default, KEEP_LONG) if keep_long else default


def next_weekly(after: datetime, zone: ZoneInfo, weekday: int, at: time = time(10)) -> datetime:
    """The next weekly word: `weekday` (0 = Monday) at `at` local time, strictly after `after`."""
    local = after.astimezone(zone)
    ahead = (weekday - local.weekday()) % 7
    for extra in (ahead, ahead + 7):
        candidate = datetime.combine(local.date() + timedelta(days=extra), at, tzinfo=zone)
        if candidate > after:
            return candidate.astimezone(after.tzinfo)
    raise AssertionError("unreachable: two weeks ahead is always later")  # pragma: no cover
