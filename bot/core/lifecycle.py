"""The check-in state machine of SPEC.md, as pure decisions.

```
 PENDING ── deadline ──► LATE (reminder) ── + grace ──► MISSED (level 1, or 2 if no contacts)
    │                      │                              │ + level2_after, not acknowledged
    └── answer ──► OK ◄────┘                              ▼
                                                 level 2 ── answer ──► RESOLVED (all-clear)
```

Nothing here touches the database or the clock: the scheduler passes `now` and a
snapshot of the check-in, gets a `Step` back, and applies it with a conditional
update that only succeeds from the state the step expected. That is what makes an
answer racing an escalation end in exactly one outcome.

Timing rules (told to people, so keep them simple):
- the grace after a reminder counts from when the reminder is sent, so a reminder's
  promise ("your contacts will be alerted in 15 minutes") holds even after an outage;
- level 2 follows level 1 by `level2_after`, unless a contact acknowledged;
- an SOS or a duress answer raises levels 1 and 2 at once and has no clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class State(enum.StrEnum):
    """Where a check-in stands."""

    PENDING = "pending"  # prompt sent (or timer running), waiting for an answer
    LATE = "late"  # deadline passed, reminder sent, grace running
    MISSED = "missed"  # escalated; stays here until the defender answers
    OK = "ok"  # answered before any alert
    RESOLVED = "resolved"  # answered after an alert: all-clear sent
    CANCELLED = "cancelled"  # timer cancelled, or suppressed by a pause


OPEN_STATES = (State.PENDING, State.LATE, State.MISSED)


class Kind(enum.StrEnum):
    """Why a check-in exists."""

    SCHEDULED = "scheduled"
    TIMER = "timer"
    SOS = "sos"
    DURESS = "duress"
    MANUAL = "manual"  # an OK sent with nothing open: kept for the well-being history


class Effect(enum.StrEnum):
    """What a step asks the caller to say."""

    REMIND = "remind"
    ALERT_LEVEL1 = "alert_level1"
    ALERT_LEVEL2 = "alert_level2"
    NOBODY_TO_ALERT = "nobody_to_alert"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the state machine needs to know about one check-in."""

    state: State
    level: int
    next_action_at: datetime | None
    grace: timedelta
    level2_after: timedelta
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class Reach:
    """Who could be alerted right now for this defender."""

    level1: bool  # at least one accepted personal contact
    level2: bool  # at least one organiser or bound alert chat


@dataclass(frozen=True, slots=True)
class Step:
    """A decided transition: the new values and what to say about it.

    `expect_state` and `expect_next_action_at` are the values the caller's
    conditional update must still find in the row; if the row moved on (an answer
    came in), the step is void and nothing is said.
    """

    expect_state: State
    expect_next_action_at: datetime | None
    state: State
    level: int
    next_action_at: datetime | None
    effects: tuple[Effect, ...]


def advance(c: Snapshot, now: datetime, reach: Reach, *, paused: bool = False) -> Step | None:
    """Decide the next transition of a check-in whose action time has come.

    Returns None when nothing is due yet or the check-in is not open.
    """
    if c.next_action_at is None or c.next_action_at > now or c.state not in OPEN_STATES:
        return None
    if paused and c.state != State.MISSED:
        return _step(c, State.CANCELLED, c.level, None)
    if c.state == State.PENDING:
        return _step(c, State.LATE, 0, now + c.grace, Effect.REMIND)
    if c.state == State.LATE:
        return _escalate_first(c, now, reach)
    # MISSED at level 1 whose level-2 time has come
    if c.level == 1 and not c.acknowledged and reach.level2:
        return _step(c, State.MISSED, 2, None, Effect.ALERT_LEVEL2)
    return _step(c, State.MISSED, c.level, None)


def _escalate_first(c: Snapshot, now: datetime, reach: Reach) -> Step:
    if reach.level1:
        next_at = now + c.level2_after if reach.level2 else None
        return _step(c, State.MISSED, 1, next_at, Effect.ALERT_LEVEL1)
    if reach.level2:
        return _step(c, State.MISSED, 2, None, Effect.ALERT_LEVEL2)
    return _step(c, State.MISSED, 0, None, Effect.NOBODY_TO_ALERT)


def _step(
    c: Snapshot, state: State, level: int, next_at: datetime | None, *effects: Effect
) -> Step:
    return Step(c.state, c.next_action_at, state, level, next_at, tuple(effects))


def answered_state(state: State) -> State | None:
    """The state an answer moves an open check-in to (None if it is not open)."""
    if state in (State.PENDING, State.LATE):
        return State.OK
    if state == State.MISSED:
        return State.RESOLVED
    return None


def first_deadline(due_at: datetime, now: datetime, window: timedelta) -> datetime:
    """When a new check-in's answer is due.

    The window counts from when the prompt actually goes out, so a prompt delayed by
    an outage still gives the defender the full window before anyone is alarmed.
    """
    return max(due_at, now) + window


def emergency_levels(reach: Reach) -> tuple[int, tuple[Effect, ...]]:
    """Levels raised at once by an SOS or a duress answer: everyone who can be reached."""
    effects: list[Effect] = []
    if reach.level1:
        effects.append(Effect.ALERT_LEVEL1)
    if reach.level2:
        effects.append(Effect.ALERT_LEVEL2)
    if not effects:
        return 0, (Effect.NOBODY_TO_ALERT,)
    return (2 if reach.level2 else 1), tuple(effects)
