"""The check-in state machine of SPEC.md, as pure decisions.

```
 PENDING ── deadline ──► LATE (reminder) ── + grace ──► MISSED (level 1, or 2 if no contacts)
    │                      │                              │ + level2_after, not acknowledged
    └── answer ──► OK ◄────┘                              ▼
                                                 level 2 ── answer ──► RESOLVED (all-clear)
```

This module holds the states and the few rules shared by everything about a
check-in; `bot.core.escalation` decides each event (tick, answer, ack, ...) and
returns a plan that the caller applies with a conditional update, so an answer
racing an escalation ends in exactly one outcome.

Timing rules (told to people, so keep them simple):
- the grace after a reminder counts from when the reminder is sent, so a reminder's
  promise ("your contacts will be alerted in 15 minutes") holds even after an outage;
- level 2 follows level 1 by `level2_after`, unless a contact acknowledged;
- an SOS or a duress answer raises levels 1 and 2 at once;
- an open alert's own clocks (repeats, acknowledgement time-out) are in
  `bot.core.escalation`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class State(enum.StrEnum):
    """Where a check-in stands."""

    PENDING = "pending"  # prompt sent (or timer running), waiting for an answer
    LATE = "late"  # deadline passed, reminder sent, grace running
    MISSED = "missed"  # alerted; open until the defender answers or a recipient resolves
    OK = "ok"  # answered before any alert
    RESOLVED = "resolved"  # closed after an alert: all-clear, or a recipient's /resolve
    CANCELLED = "cancelled"  # timer cancelled, or suppressed by a pause


OPEN_STATES = (State.PENDING, State.LATE, State.MISSED)


class Kind(enum.StrEnum):
    """Why a check-in exists."""

    SCHEDULED = "scheduled"
    TIMER = "timer"
    SOS = "sos"
    DURESS = "duress"
    MANUAL = "manual"  # an OK sent with nothing open: kept for the well-being history


#: Alerts a person raised themselves: the phone alone never closes them.
EMERGENCY_KINDS = (Kind.SOS, Kind.DURESS)


@dataclass(frozen=True, slots=True)
class Reach:
    """Who could be alerted right now for this defender."""

    level1: bool  # at least one accepted personal contact
    level2: bool  # at least one organiser or bound alert chat


def paused_now(paused_until: datetime | None, now: datetime) -> bool:
    """True while a defender's pause runs."""
    return paused_until is not None and paused_until > now


#: What a new pause cancels: check-ins and timers still waiting for an answer.
#: (An alert already out stands; a timer set *during* the pause runs: `pause_stops`.)
PAUSE_CANCELS = (Kind.SCHEDULED, Kind.TIMER)
PAUSE_CANCELS_STATES = (State.PENDING, State.LATE)


def pause_stops(kind: str) -> bool:
    """Whether a pause stops check-ins of this kind.

    A pause stops routine check-ins only: a timer set for a risky trip keeps
    running, and an SOS always goes out.
    """
    return kind == Kind.SCHEDULED


def first_deadline(due_at: datetime, now: datetime, window: timedelta) -> datetime:
    """When a new check-in's answer is due.

    The window counts from when the prompt actually goes out, so a prompt delayed by
    an outage still gives the defender the full window before anyone is alarmed.
    """
    return max(due_at, now) + window
