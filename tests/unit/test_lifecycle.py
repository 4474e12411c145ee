"""The check-in state machine of SPEC.md as pure decisions (`bot.core.escalation.on_tick`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.escalation import Case, Policy, on_emergency, on_tick
from bot.core.lifecycle import OPEN_STATES, Kind, Reach, State, first_deadline

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
GRACE = timedelta(minutes=15)
LEVEL2 = timedelta(minutes=30)
NOBODY = Reach(level1=False, level2=False)
CONTACTS = Reach(level1=True, level2=False)
GROUP = Reach(level1=False, level2=True)
BOTH = Reach(level1=True, level2=True)
POLICY = Policy()


def snap(state: State, level: int = 0, at: datetime | None = NOW, acked: bool = False) -> Case:
    missed = state == State.MISSED
    return Case(
        Kind.SCHEDULED, state, level, at, GRACE, LEVEL2,
        acked_by=7 if acked else None, acked_at=NOW if acked else None,
        level2_at=NOW if missed and level == 1 else None,
        alerted_at=NOW - POLICY.repeat_every / 2 if missed else None,
    )  # fmt: skip


def test_pending_past_its_deadline_reminds_and_starts_the_grace() -> None:
    plan = on_tick(snap(State.PENDING), NOW, BOTH, POLICY)
    assert plan is not None and plan.reply == "reminder" and not plan.raises
    assert (plan.after.state, plan.after.next_action_at) == (State.LATE, NOW + GRACE)


def test_grace_counts_from_when_the_reminder_is_sent() -> None:
    late_tick = NOW + timedelta(hours=2)  # the bot was down at the deadline
    plan = on_tick(snap(State.PENDING), late_tick, BOTH, POLICY)
    assert plan is not None and plan.after.next_action_at == late_tick + GRACE


@pytest.mark.parametrize(
    ("reach", "level", "level2_at", "levels"),
    [
        (CONTACTS, 1, None, (1,)),
        (BOTH, 1, NOW + LEVEL2, (1,)),
        (GROUP, 2, None, (2,)),  # no contacts: straight to level 2
        (NOBODY, 0, None, ()),
    ],
)
def test_late_past_grace_escalates_to_whoever_can_be_reached(
    reach: Reach, level: int, level2_at: datetime | None, levels: tuple[int, ...]
) -> None:
    plan = on_tick(snap(State.LATE), NOW, reach, POLICY)
    assert plan is not None and plan.after.state == State.MISSED
    assert (plan.after.level, plan.after.level2_at, plan.levels) == (level, level2_at, levels)
    assert plan.tell_operators == (reach == NOBODY)


def test_level2_with_no_contacts_says_so() -> None:
    plan = on_tick(snap(State.LATE), NOW, GROUP, POLICY)
    assert plan is not None and plan.raises[0].key == "alert.missed_level2_alone"


def test_level2_follows_unless_acknowledged() -> None:
    plan = on_tick(snap(State.MISSED, level=1), NOW, BOTH, POLICY)
    assert plan is not None and plan.levels == (2,) and plan.after.level == 2
    assert plan.raises[0].key == "alert.missed_level2"
    acked = replace(snap(State.MISSED, level=1, acked=True), next_action_at=NOW)
    quiet = on_tick(acked, NOW, BOTH, POLICY)
    assert quiet is not None and quiet.levels == () and quiet.after.level == 1
    assert quiet.after.next_action_at == NOW + POLICY.ack_timeout


def test_level2_gone_meanwhile_raises_nothing() -> None:
    plan = on_tick(snap(State.MISSED, level=1), NOW, CONTACTS, POLICY)
    assert plan is not None and plan.levels == () and plan.after.next_action_at is not None


@pytest.mark.parametrize("state", [State.OK, State.RESOLVED, State.CANCELLED])
def test_closed_check_ins_never_move(state: State) -> None:
    assert on_tick(snap(state), NOW, BOTH, POLICY) is None


def test_nothing_happens_before_the_action_time_or_without_one() -> None:
    assert on_tick(snap(State.PENDING, at=NOW + timedelta(seconds=1)), NOW, BOTH, POLICY) is None
    assert on_tick(snap(State.MISSED, level=2, at=None), NOW, BOTH, POLICY) is None


@pytest.mark.parametrize("state", [State.PENDING, State.LATE])
def test_a_pause_cancels_what_waits(state: State) -> None:
    plan = on_tick(snap(state), NOW, BOTH, POLICY, paused=True)
    assert plan is not None and plan.after.state == State.CANCELLED and not plan.raises
    assert plan.after.next_action_at is None


def test_a_pause_does_not_stop_an_escalation_under_way() -> None:
    plan = on_tick(snap(State.MISSED, level=1), NOW, BOTH, POLICY, paused=True)
    assert plan is not None and plan.levels == (2,)


def test_first_deadline_gives_the_full_window_from_when_the_prompt_goes_out() -> None:
    window = timedelta(minutes=30)
    due = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert first_deadline(due, due, window) == due + window
    late = due + timedelta(hours=3)
    assert first_deadline(due, late, window) == late + window
    assert first_deadline(due, due - timedelta(minutes=1), window) == due + window


@pytest.mark.parametrize(
    ("reach", "level", "levels"),
    [(BOTH, 2, (1, 2)), (CONTACTS, 1, (1,)), (GROUP, 2, (2,)), (NOBODY, 0, ())],
)
def test_sos_raises_every_level_at_once(reach: Reach, level: int, levels: tuple[int, ...]) -> None:
    plan = on_emergency(Kind.SOS, NOW, reach, POLICY)
    assert (plan.after.level, plan.levels) == (level, levels)
    assert plan.after.state == State.MISSED
    assert plan.tell_operators == (reach == NOBODY)


# -- properties ------------------------------------------------------------------------

_TIMES = st.integers(-7200, 7200).map(lambda s: NOW + timedelta(seconds=s))
_SECONDS = st.integers(60, 7200).map(lambda s: timedelta(seconds=s))


@st.composite
def _cases(draw: st.DrawFn) -> Case:
    """Reachable cases: only a missed check-in has a level; only it is acknowledged."""
    state = draw(st.sampled_from(list(State)))
    escalated = state in (State.MISSED, State.RESOLVED)
    acked = draw(st.booleans()) if escalated else False
    return Case(
        kind=Kind.SCHEDULED,
        state=state,
        level=draw(st.integers(0, 2)) if escalated else 0,
        next_action_at=draw(st.one_of(st.none(), _TIMES)),
        grace=draw(_SECONDS),
        level2_after=draw(_SECONDS),
        acked_by=7 if acked else None,
        acked_at=draw(_TIMES) if acked else None,
        alerted_at=draw(_TIMES) if escalated else None,
    )


_CASES = _cases()
_REACH = st.builds(Reach, level1=st.booleans(), level2=st.booleans())


@given(_CASES, _TIMES, _REACH, st.booleans())
def test_a_plan_is_conditional_forward_and_bounded(
    c: Case, now: datetime, reach: Reach, paused: bool
) -> None:
    plan = on_tick(c, now, reach, POLICY, paused=paused)
    if plan is None:
        assert c.state not in OPEN_STATES or c.next_action_at is None or c.next_action_at > now
        return
    assert c.state in OPEN_STATES and c.next_action_at is not None and c.next_action_at <= now
    # the conditional update must find the row exactly as it was decided on
    assert plan.before == c
    assert plan.after.level >= c.level or plan.after.state == State.LATE
    assert plan.after.next_action_at is None or plan.after.next_action_at > now  # no busy loop
    assert plan.after.state in (State.LATE, State.MISSED, State.CANCELLED)
    if 1 in plan.levels:
        assert reach.level1 and not paused
    if 2 in plan.levels:
        assert reach.level2
    if paused and c.state != State.MISSED:
        assert plan.after.state == State.CANCELLED and not plan.raises


@given(_CASES, _REACH)
def test_walking_the_clock_raises_each_level_at_most_once(start: Case, reach: Reach) -> None:
    """Advance a check-in many times: a level is never raised twice."""
    c, now, raised = start, NOW, []
    for _ in range(30):
        if c.next_action_at is not None:
            now = max(now, c.next_action_at)
        plan = on_tick(c, now, reach, POLICY)
        if plan is None:
            break
        raised += list(plan.levels)
        c = plan.after
    assert len(raised) == len(set(raised))
