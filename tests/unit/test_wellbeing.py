"""The well-being rules (core, pure): trend, the gentle word, the group view, the week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import wellbeing as rules
from bot.core.wellbeing import Entry, Feeling, Nudge, Trend

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def ago(days: float, score: int | None = None, feeling: Feeling | None = None) -> Entry:
    return Entry(NOW - timedelta(days=days), score, feeling)


# -- trend -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "recent", "expected"),
    [
        ([2, 2, 2], [3, 3, 3], Trend.BETTER),
        ([4, 4], [3, 3], Trend.WORSE),
        ([3, 3], [3, 4], Trend.BETTER),  # +0.5 is a change
        ([3, 3, 3, 4], [3, 3, 4, 3], Trend.SAME),
        ([], [5, 5], Trend.UNKNOWN),  # nothing to compare with: say so
        ([1], [], Trend.UNKNOWN),
    ],
)
def test_trend_compares_the_last_week_with_the_one_before(
    before: list[int], recent: list[int], expected: Trend
) -> None:
    entries = [ago(8 + i * 0.5, s) for i, s in enumerate(before)]
    entries += [ago(1 + i * 0.5, s) for i, s in enumerate(recent)]
    entries.append(ago(20, 1))  # older than two weeks: ignored
    assert rules.trend(entries, NOW) == expected


history = st.lists(
    st.tuples(st.floats(min_value=0, max_value=13.99), st.integers(1, 5)), max_size=40
)


@given(history)
def test_property_the_caption_direction_matches_the_data(points: list[tuple[float, int]]) -> None:
    entries = [ago(d, s) for d, s in points]
    recent = [s for d, s in points if d < 7]
    before = [s for d, s in points if d >= 7]
    got = rules.trend(entries, NOW)
    if not recent or not before:
        assert got == Trend.UNKNOWN
        return
    change = sum(recent) / len(recent) - sum(before) / len(before)
    if got == Trend.BETTER:
        assert change > 0
    elif got == Trend.WORSE:
        assert change < 0
    else:
        assert got == Trend.SAME and abs(change) < rules.TREND_STEP


@given(history, st.integers(1, 4))
def test_property_raising_every_recent_score_never_reads_worse(
    points: list[tuple[float, int]], lift: int
) -> None:
    base = rules.trend([ago(d, s) for d, s in points], NOW)
    lifted = [ago(d, min(5, s + lift) if d < 7 else s) for d, s in points]
    order = [Trend.WORSE, Trend.SAME, Trend.BETTER]
    got = rules.trend(lifted, NOW)
    if base in order:
        assert order.index(got) >= order.index(base)


# -- the gentle word -----------------------------------------------------------------------


def test_three_low_scores_in_a_row_get_a_gentle_word() -> None:
    assert rules.nudge_reason([ago(3, 2), ago(2, 1), ago(1, 2)], NOW, None) == Nudge.LOW
    assert rules.nudge_reason([ago(3, 2), ago(2, 3), ago(1, 2)], NOW, None) is None
    assert rules.nudge_reason([ago(2, 1), ago(1, 1)], NOW, None) is None  # only two
    # the three most recent count, however old the low run before them
    assert rules.nudge_reason([ago(9, 1), ago(8, 1), ago(7, 1), ago(1, 4)], NOW, None) is None


def test_exhausted_twice_in_a_week_gets_a_gentle_word() -> None:
    tired = Feeling.EXHAUSTED
    assert rules.nudge_reason([ago(6, 4, tired), ago(1, None, tired)], NOW, None) == Nudge.EXHAUSTED
    assert rules.nudge_reason([ago(8, 4, tired), ago(1, None, tired)], NOW, None) is None


def test_at_most_one_gentle_word_a_week() -> None:
    low = [ago(3, 1), ago(2, 1), ago(1, 1)]
    assert rules.nudge_reason(low, NOW, NOW - timedelta(days=6, hours=23)) is None
    assert rules.nudge_reason(low, NOW, NOW - timedelta(days=7)) == Nudge.LOW


# -- the group view (k-anonymity) -------------------------------------------------------------


def test_group_view_needs_five_members_and_averages_members_not_answers() -> None:
    four = {m: [ago(1, 5)] for m in range(4)}
    assert rules.group_view(four) is None
    five = {**four, 9: [ago(1, 1), ago(2, 1), ago(3, 1), ago(4, 1, Feeling.TALK)]}
    view = rules.group_view(five)
    assert view == rules.GroupView(members=5, average=4.2, need_to_talk=1)
    silent = {**four, 9: []}  # a member who did not answer does not count
    assert rules.group_view(silent) is None


members = st.dictionaries(
    st.integers(0, 30),
    st.lists(
        st.builds(
            Entry,
            st.just(NOW),
            st.one_of(st.none(), st.integers(1, 5)),
            st.one_of(st.none(), st.sampled_from(list(Feeling))),
        ),
        max_size=4,
    ),
    max_size=12,
)


@given(members)
def test_property_no_organiser_output_depends_on_fewer_than_five(
    answers: dict[int, list[Entry]],
) -> None:
    view = rules.group_view(answers)
    answered = [m for m, es in answers.items() if es]
    if len(answered) < rules.K_MIN:
        assert view is None
    else:
        assert view is not None and view.members == len(answered) >= rules.K_MIN
        assert view.need_to_talk <= view.members


# -- days, retention, the weekly date ------------------------------------------------------------


def test_days_are_local_with_gaps_and_a_mean_per_day() -> None:
    late = datetime(2026, 6, 14, 22, 30, tzinfo=UTC)  # already the 15th in Berlin
    entries = [Entry(late, 2), Entry(late + timedelta(hours=1), 4, Feeling.SCARED)]
    got = rules.days(entries, today=date(2026, 6, 15), count=3, zone=BERLIN)
    assert [d.day.day for d in got] == [13, 14, 15]
    assert [d.score for d in got] == [None, None, 3.0]
    assert got[2].feelings == {Feeling.SCARED}


def test_keeping_a_year_is_the_defenders_choice() -> None:
    assert rules.retention(timedelta(days=30), keep_long=False) == timedelta(days=30)
    assert rules.retention(timedelta(days=30), keep_long=True) == timedelta(days=365)
    assert rules.retention(timedelta(days=400), keep_long=True) == timedelta(days=400)


def test_the_weekly_word_comes_on_the_chosen_day_at_ten_local() -> None:
    monday_noon = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # 12:00 in Berlin
    assert rules.next_weekly(monday_noon, BERLIN, 0) == datetime(2026, 6, 22, 8, 0, tzinfo=UTC)
    assert rules.next_weekly(monday_noon, BERLIN, 2) == datetime(2026, 6, 17, 8, 0, tzinfo=UTC)


def test_feelings_parse_from_the_words_people_type() -> None:
    assert rules.parse_feeling(" Scared ") is Feeling.SCARED
    assert rules.parse_feeling("talk") is Feeling.TALK
    with pytest.raises(ValueError):
        rules.parse_feeling("sad")
