"""The check-in state machine of SPEC.md as pure decisions (`bot.core.lifecycle`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.lifecycle import (
    OPEN_STATES,
    Effect,
    Reach,
    Snapshot,
    State,
    Step,
    advance,
    answered_state,
    emergency_levels,
    first_deadline,
)

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
GRACE = timedelta(minutes=15)
LEVEL2 = timedelta(minutes=30)
NOBODY = Reach(level1=False, level2=False)
CONTACTS = Reach(level1=True, level2=False)
GROUP = Reach(level1=False, level2=True)
BOTH = Reach(level1=True, level2=True)


def snap(state: State, level: int = 0, at: datetime | None = NOW, acked: bool = False) -> Snapshot:
    return Snapshot(state, level, at, GRACE, LEVEL2, acknowledged=acked)


def test_pending_past_its_deadline_reminds_and_starts_the_grace() -> None:
    step = advance(snap(State.PENDING), NOW, BOTH)
    assert step == Step(State.PENDING, NOW, State.LATE, 0, NOW + GRACE, (Effect.REMIND,))


def test_grace_counts_from_when_the_reminder_is_sent() -> None:
    late_tick = NOW + timedelta(hours=2)  # the bot was down at the deadline
    step = advance(snap(State.PENDING), late_tick, BOTH)
    assert step is not None and step.next_action_at == late_tick + GRACE


@pytest.mark.parametrize(
    ("reach", "level", "next_at", "effects"),
    [
        (CONTACTS, 1, None, (Effect.ALERT_LEVEL1,)),
        (BOTH, 1, NOW + LEVEL2, (Effect.ALERT_LEVEL1,)),
        (GROUP, 2, None, (Effect.ALERT_LEVEL2,)),  # no contacts: straight to level 2
        (NOBODY, 0, None, (Effect.NOBODY_TO_ALERT,)),
    ],
)
def test_late_past_grace_escalates_to_whoever_can_be_reached(
    reach: Reach, level: int, next_at: datetime | None, effects: tuple[Effect, ...]
) -> None:
    step = advance(snap(State.LATE), NOW, reach)
    assert step == Step(State.LATE, NOW, State.MISSED, level, next_at, effects)


def test_level2_follows_unless_acknowledged() -> None:
    step = advance(snap(State.MISSED, level=1), NOW, BOTH)
    assert step == Step(State.MISSED, NOW, State.MISSED, 2, None, (Effect.ALERT_LEVEL2,))
    quiet = advance(snap(State.MISSED, level=1, acked=True), NOW, BOTH)
    assert quiet is not None and quiet.effects == () and quiet.next_action_at is None
    assert quiet.level == 1


def test_level2_gone_meanwhile_raises_nothing() -> None:
    step = advance(snap(State.MISSED, level=1), NOW, CONTACTS)
    assert step is not None and step.effects == () and step.next_action_at is None


@pytest.mark.parametrize("state", [State.OK, State.RESOLVED, State.CANCELLED])
def test_closed_check_ins_never_move(state: State) -> None:
    assert advance(snap(state), NOW, BOTH) is None


def test_nothing_happens_before_the_action_time_or_without_one() -> None:
    assert advance(snap(State.PENDING, at=NOW + timedelta(seconds=1)), NOW, BOTH) is None
    assert advance(snap(State.MISSED, level=2, at=None), NOW, BOTH) is None


@pytest.mark.parametrize("state", [State.PENDING, State.LATE])
def test_a_pause_cancels_what_waits(state: State) -> None:
    step = advance(snap(state), NOW, BOTH, paused=True)
    assert step is not None and step.state == State.CANCELLED and step.effects == ()
    assert step.next_action_at is None


def test_a_pause_does_not_stop_an_escalation_under_way() -> None:
    step = advance(snap(State.MISSED, level=1), NOW, BOTH, paused=True)
    assert step is not None and step.effects == (Effect.ALERT_LEVEL2,)


@pytest.mark.parametrize(
    ("state", "answered"),
    [
        (State.PENDING, State.OK),
        (State.LATE, State.OK),  # after the reminder: no alert ever went out
        (State.MISSED, State.RESOLVED),  # after an alert: all-clear
        (State.OK, None),
        (State.RESOLVED, None),
        (State.CANCELLED, None),
    ],
)
def test_answered_state(state: State, answered: State | None) -> None:
    assert answered_state(state) == answered


def test_first_deadline_gives_the_full_window_from_when_the_prompt_goes_out() -> None:
    window = timedelta(minutes=30)
    due = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert first_deadline(due, due, window) == due + window
    late = due + timedelta(hours=3)
    assert first_deadline(due, late, window) == late + window
    assert first_deadline(due, due - timedelta(minutes=1), window) == due + window


@pytest.mark.parametrize(
    ("reach", "expected"),
    [
        (BOTH, (2, (Effect.ALERT_LEVEL1, Effect.ALERT_LEVEL2))),
        (CONTACTS, (1, (Effect.ALERT_LEVEL1,))),
        (GROUP, (2, (Effect.ALERT_LEVEL2,))),
        (NOBODY, (0, (Effect.NOBODY_TO_ALERT,))),
    ],
)
def test_sos_raises_every_level_at_once(
    reach: Reach, expected: tuple[int, tuple[Effect, ...]]
) -> None:
    assert emergency_levels(reach) == expected


# -- properties ------------------------------------------------------------------------

_TIMES = st.integers(-7200, 7200).map(lambda s: NOW + timedelta(seconds=s))
_SECONDS = st.integers(60, 7200).map(lambda s: timedelta(seconds=s))


@st.composite
def _snapshots(draw: st.DrawFn) -> Snapshot:
    """Reachable snapshots: only a missed check-in has a level; only it is acknowledged."""
    state = draw(st.sampled_from(list(State)))
    escalated = state in (State.MISSED, State.RESOLVED)
    return Snapshot(
        state=state,
        level=draw(st.integers(0, 2)) if escalated else 0,
        next_action_at=draw(st.one_of(st.none(), _TIMES)),
        grace=draw(_SECONDS),
        level2_after=draw(_SECONDS),
        acknowledged=draw(st.booleans()) if escalated else False,
    )


_SNAPSHOTS = _snapshots()
_REACH = st.builds(Reach, level1=st.booleans(), level2=st.booleans())


@given(_SNAPSHOTS, _TIMES, _REACH, st.booleans())
def test_a_step_is_conditional_forward_and_bounded(
    c: Snapshot, now: datetime, reach: Reach, paused: bool
) -> None:
    step = advance(c, now, reach, paused=paused)
    if step is None:
        assert c.state not in OPEN_STATES or c.next_action_at is None or c.next_action_at > now
        return
    assert c.state in OPEN_STATES and c.next_action_at is not None and c.next_action_at <= now
    # the conditional update must find the row exactly as it was decided on
    assert (step.expect_state, step.expect_next_action_at) == (c.state, c.next_action_at)
    assert step.level >= c.level or step.state == State.LATE
    assert step.next_action_at is None or step.next_action_at > now  # no busy loop
    assert step.state in (State.LATE, State.MISSED, State.CANCELLED)
    if Effect.ALERT_LEVEL1 in step.effects:
        assert reach.level1 and not paused
    if Effect.ALERT_LEVEL2 in step.effects:
        assert reach.level2 and not c.acknowledged
    if paused and c.state != State.MISSED:
        assert step.state == State.CANCELLED and not step.effects


@given(_SNAPSHOTS, _REACH)
def test_walking_the_clock_ends_with_each_level_raised_at_most_once(
    start: Snapshot, reach: Reach
) -> None:
    """Advance a check-in as far as it goes: it always stops, and never repeats a level."""
    c, now, raised = start, NOW, []
    for _ in range(10):
        if c.next_action_at is not None:
            now = max(now, c.next_action_at)
        step = advance(c, now, reach)
        if step is None:
            break
        raised += [e for e in step.effects if e in (Effect.ALERT_LEVEL1, Effect.ALERT_LEVEL2)]
        c = Snapshot(
            step.state, step.level, step.next_action_at, c.grace, c.level2_after, c.acknowledged
        )
    else:
        pytest.fail(f"no end after 10 steps from {start}")
    assert len(raised) == len(set(raised))
