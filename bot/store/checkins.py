"""Schedules, check-ins, answers and alerts: every transition a conditional update.

Each write that moves a check-in names the state it expects to move it from, so a
defender's answer and the scheduler's escalation racing at the deadline cannot both
win: whichever commits second finds the row changed and does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycle import OPEN_STATES, State, Step, answered_state
from bot.store.models import Alert, AlertRecipient, Checkin, Schedule
from bot.store.outbox import dialect_insert

_OPEN = tuple(s.value for s in OPEN_STATES)


# -- schedules ---------------------------------------------------------------------


async def add_schedule(
    session: AsyncSession,
    *,
    user_id: int,
    spec: str,
    next_due_at: datetime,
    now: datetime,
    group_id: int | None = None,
) -> Schedule:
    """Store a recurring check-in with its first due time."""
    schedule = Schedule(
        user_id=user_id, group_id=group_id, spec=spec, anchor_at=now,
        next_due_at=next_due_at, created_at=now,
    )  # fmt: skip
    session.add(schedule)
    await session.flush()
    return schedule


async def schedules_of(session: AsyncSession, user_id: int) -> Sequence[Schedule]:
    """A defender's schedules, soonest first."""
    stmt = select(Schedule).where(Schedule.user_id == user_id).order_by(Schedule.next_due_at)
    return (await session.execute(stmt)).scalars().all()


async def remove_schedule(session: AsyncSession, user_id: int, schedule_id: int) -> bool:
    """Delete one of the defender's own (non-group) schedules."""
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None or schedule.user_id != user_id or schedule.group_id is not None:
        return False
    await session.delete(schedule)
    await session.flush()
    return True


async def advance_schedules(
    session: AsyncSession, worker: str, moves: Sequence[tuple[int, datetime, datetime]]
) -> None:
    """Move many claimed schedules on at once: `(id, expected due, next due)` each.

    One executemany of a conditional update (id and expected due time). The rows
    were claimed in this transaction (locked on PostgreSQL, the write lock held on
    SQLite), so nobody else can have moved them; the condition is kept as a guard.
    """
    if not moves:
        return
    table = Schedule.__table__
    stmt = (
        table.update()
        .where(
            table.c.id == bindparam("b_id"),
            table.c.next_due_at == bindparam("b_expected"),
            table.c.claimed_by == worker,
        )
        .values(next_due_at=bindparam("b_next"), claimed_by=None, lease_until=None)
    )
    params = [{"b_id": i, "b_expected": old, "b_next": new} for i, old, new in moves]
    await session.execute(stmt, params)


# -- check-ins ---------------------------------------------------------------------


async def create_scheduled(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[int, int]:
    """Insert occurrences of several schedules with one executemany; returns {schedule_id: id}.

    `UNIQUE(schedule_id, due_at)` with ON CONFLICT DO NOTHING: an occurrence that
    exists already is skipped and missing from the result, as in `create_checkin`.
    Every row needs a `schedule_id` (at most one row per schedule).
    """
    if not rows:
        return {}
    table = Checkin.__table__
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
        .returning(table.c.schedule_id, table.c.id)
    )
    return {sid: cid for sid, cid in (await session.execute(stmt, list(rows))).all()}


async def create_checkin(session: AsyncSession, **values: Any) -> int | None:
    """Insert an occurrence; None if (schedule_id, due_at) already exists."""
    stmt = dialect_insert(session, Checkin).values(**values)
    if values.get("schedule_id") is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
    result = await session.execute(stmt.returning(Checkin.id))
    return result.scalar_one_or_none()


async def open_checkins(session: AsyncSession, user_id: int) -> Sequence[Checkin]:
    """A defender's check-ins that still wait for an answer, oldest first."""
    stmt = (
        select(Checkin)
        .where(Checkin.user_id == user_id, Checkin.state.in_(_OPEN))
        .order_by(Checkin.due_at)
    )
    return (await session.execute(stmt)).scalars().all()


async def apply_step(session: AsyncSession, row_id: int, step: Step) -> bool:
    """Apply a decided transition if the row is still as the decision saw it."""
    stmt = (
        update(Checkin)
        .where(
            Checkin.id == row_id,
            Checkin.state == step.expect_state.value,
            _same(Checkin.next_action_at, step.expect_next_action_at),
        )
        .values(
            state=step.state.value,
            level=step.level,
            next_action_at=step.next_action_at,
            claimed_by=None,
            lease_until=None,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    )
    return bool((await session.execute(stmt)).rowcount)


async def apply_steps(session: AsyncSession, steps: Sequence[tuple[int, Step]]) -> None:
    """Apply many decided transitions with one executemany (a burst of reminders).

    The rows were claimed in this transaction (locked on PostgreSQL, the write lock
    held on SQLite), so nobody else can have moved them; the condition stays as a
    guard. Steps whose row had no next action (never claimed) are not batched.
    """
    if not steps:
        return
    table = Checkin.__table__
    stmt = (
        table.update()
        .where(
            table.c.id == bindparam("b_id"),
            table.c.state == bindparam("b_state"),
            table.c.next_action_at == bindparam("b_expected"),
        )
        .values(
            state=bindparam("b_new"),
            level=bindparam("b_level"),
            next_action_at=bindparam("b_next"),
            claimed_by=None,
            lease_until=None,
        )  # fmt: skip
    )
    params = [
        {
            "b_id": row_id,
            "b_state": s.expect_state.value,
            "b_expected": s.expect_next_action_at,
            "b_new": s.state.value,
            "b_level": s.level,
            "b_next": s.next_action_at,
        }  # fmt: skip
        for row_id, s in steps
    ]
    await session.execute(stmt, params)


def _same(column: Any, value: datetime | None) -> Any:
    return column.is_(None) if value is None else column == value


async def answer_all(
    session: AsyncSession,
    user_id: int,
    now: datetime,
    *,
    score: int | None = None,
    note: str | None = None,
    kinds: Sequence[str] | None = None,
) -> Sequence[Row[Any]]:
    """Resolve every open check-in and timer of a defender in one statement.

    Returns (id, state) of each row it moved: `ok` if it was answered before any
    alert, `resolved` if an alert had gone out (the caller sends the all-clear).
    """
    # the core's rule (answered_state), spelled as SQL so one statement moves them all
    moves = {s: answered_state(s) for s in OPEN_STATES}
    new_state = case(*[(Checkin.state == s.value, a.value) for s, a in moves.items() if a])
    conditions = [Checkin.user_id == user_id, Checkin.state.in_(_OPEN)]
    if kinds is not None:
        conditions.append(Checkin.kind.in_(kinds))
    stmt = (
        update(Checkin)
        .where(*conditions)
        .values(
            state=new_state,
            answered_at=now,
            next_action_at=None,
            score=score,
            note=note,
            claimed_by=None,
            lease_until=None,
        )  # fmt: skip
        .returning(Checkin.id, Checkin.state, Checkin.kind, Checkin.duress)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).all()


async def cancel_open(
    session: AsyncSession, user_id: int, *, kinds: Sequence[str], states: Sequence[str] = _OPEN
) -> int:
    """Cancel open check-ins of some kinds (a cancelled timer, a pause)."""
    stmt = (
        update(Checkin)
        .where(Checkin.user_id == user_id, Checkin.kind.in_(kinds), Checkin.state.in_(states))
        .values(state=State.CANCELLED.value, next_action_at=None, claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(stmt)).rowcount or 0)


async def last_answer(session: AsyncSession, user_id: int) -> Checkin | None:
    """The defender's most recent answered check-in."""
    stmt = (
        select(Checkin)
        .where(Checkin.user_id == user_id, Checkin.answered_at.is_not(None))
        .order_by(Checkin.answered_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


# -- alerts ------------------------------------------------------------------------


async def create_alerts(
    session: AsyncSession, levels: Sequence[tuple[int, int]], now: datetime
) -> dict[tuple[int, int], int]:
    """Record several `(checkin_id, level)` alerts; returns ids of those newly raised.

    Levels raised before (UNIQUE(checkin_id, level)) are skipped and absent.
    """
    if not levels:
        return {}
    table = Alert.__table__
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["checkin_id", "level"])
        .returning(table.c.id, table.c.checkin_id, table.c.level)
    )
    params = [{"checkin_id": c, "level": lvl, "created_at": now} for c, lvl in levels]
    rows = (await session.execute(stmt, params)).all()
    return {(r.checkin_id, r.level): r.id for r in rows}


async def add_recipients(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record recipients (`alert_id, platform, chat_id, user_id`) with one executemany."""
    if not rows:
        return
    stmt = dialect_insert(session, AlertRecipient.__table__).on_conflict_do_nothing(
        index_elements=["alert_id", "platform", "chat_id"]
    )
    await session.execute(stmt, list(rows))


async def recipients_of(session: AsyncSession, checkin_id: int) -> Sequence[Row[Any]]:
    """Everyone told about any level of this check-in: (platform, chat_id, user_id)."""
    stmt = (
        select(AlertRecipient.platform, AlertRecipient.chat_id, AlertRecipient.user_id)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .where(Alert.checkin_id == checkin_id)
        .distinct()
    )
    return (await session.execute(stmt)).all()


async def resolve_alerts(session: AsyncSession, checkin_id: int, now: datetime) -> None:
    """Mark every alert of a check-in resolved."""
    await session.execute(
        update(Alert)
        .where(Alert.checkin_id == checkin_id, Alert.resolved_at.is_(None))
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )


async def alert_for_ack(
    session: AsyncSession, user_id: int, checkin_id: int | None
) -> Checkin | None:
    """The open, alerted check-in this person may acknowledge (newest if not named)."""
    stmt = (
        select(Checkin)
        .join(Alert, Alert.checkin_id == Checkin.id)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(AlertRecipient.user_id == user_id, Checkin.state == State.MISSED.value)
        .order_by(Checkin.id.desc())
        .limit(1)
    )
    if checkin_id is not None:
        stmt = stmt.where(Checkin.id == checkin_id)
    return (await session.execute(stmt)).scalars().first()


async def acknowledge(session: AsyncSession, checkin_id: int, user_id: int, now: datetime) -> bool:
    """The first acknowledgement wins; it stops level 2 (the next action is cleared)."""
    stmt = (
        update(Checkin)
        .where(
            Checkin.id == checkin_id,
            Checkin.state == State.MISSED.value,
            Checkin.acked_by.is_(None),
        )
        .values(
            acked_by=user_id,
            acked_at=now,
            next_action_at=case((Checkin.level >= 2, Checkin.next_action_at), else_=None),
        )
        .execution_options(synchronize_session=False)
    )
    return bool((await session.execute(stmt)).rowcount)


async def purge_history(session: AsyncSession, before: datetime) -> int:
    """Delete closed check-ins older than `before`; open ones are never purged."""
    closed = and_(
        Checkin.created_at < before,
        Checkin.state.in_((State.OK.value, State.RESOLVED.value, State.CANCELLED.value)),
    )
    ids = select(Checkin.id).where(closed).limit(5000)
    result = await session.execute(delete(Checkin).where(Checkin.id.in_(ids.scalar_subquery())))
    return int(result.rowcount or 0)
