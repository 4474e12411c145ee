"""The answer clock starts at the prompt's delivery (core, pure): properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.core import escalation as core
from bot.core.escalation import Case, Policy
from bot.core.lifecycle import Kind, Reach, State

QUEUED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
WINDOW, GRACE = timedelta(minutes=30), timedelta(minutes=15)
BOTH = Reach(level1=True, level2=True)


def pending() -> Case:
    deadline = QUEUED + WINDOW
    return Case(Kind.SCHEDULED, State.PENDING, 0, deadline, GRACE, timedelta(minutes=30),
                window=WINDOW, deadline=deadline)  # fmt: skip


minutes = st.integers(min_value=0, max_value=24 * 60)


@given(minutes)
def test_the_window_counts_from_delivery(delay: int) -> None:
    at = QUEUED + timedelta(minutes=delay)
    plan = core.on_delivered(pending(), at)
    assert plan is not None
    assert plan.after.next_action_at == plan.after.deadline == max(QUEUED, at) + WINDOW
    assert core.on_delivered(plan.after, at + timedelta(minutes=1)) is None  # first one counts


@given(minutes)
def test_an_undelivered_prompt_never_raises_a_missed_alert(after: int) -> None:
    case, now = pending(), QUEUED + timedelta(minutes=after)
    for _ in range(3):
        plan = core.on_tick(case, now, BOTH, Policy())
        if plan is None:
            break
        assert all("missed" not in r.key for r in plan.raises) and plan.reply != "reminder"
        if plan.raises:
            assert now >= QUEUED + WINDOW + GRACE and plan.prompt_undelivered
            assert [r.key for r in plan.raises] == ["alert.unreached_level1"]
            break
        case = plan.after
        now = max(now, case.next_action_at or now)
