"""Claiming due work with one atomic statement per batch, and leases.

The shape is procrastinate's fetch-job: `UPDATE t SET claimed_by=:w, lease_until=:l
WHERE id IN (SELECT id … WHERE <due> ORDER BY … LIMIT :n FOR UPDATE SKIP LOCKED)
AND <due> RETURNING …`. On PostgreSQL, `SKIP LOCKED` lets several workers share one
database; on SQLite (where SQLAlchemy silently drops `FOR UPDATE`) the outer `WHERE`
re-checks the condition and `BEGIN IMMEDIATE` serialises writers. Never a SELECT
followed by an UPDATE.

A row whose lease has expired (its worker died mid-way) is claimable again: a crash
delays work by at most one lease, never loses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    ScalarSelect,
    Select,
    Update,
    and_,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import PRIORITY, MessageKind
from bot.store.models import Checkin, Outbox, Schedule, User

#: How long a claimed row stays ours before another worker may take it.
DEFAULT_LEASE = timedelta(seconds=60)
#: The outbox's lease is short and renewed every third of it while the message is
#: being sent or recorded (`Delivery`), so a killed worker's messages are sent by
#: another worker within seconds, at their own place in the queue (priority, age).
OUTBOX_LEASE = timedelta(seconds=8)

_OPEN = ("pending", "late", "missed")
#: Priorities from here on are routine traffic (notices, prompts): never ahead of an alert.
ROUTINE = PRIORITY[MessageKind.INFO]


def claimable(inner: Select[Any], dialect: str) -> ScalarSelect[Any]:
    """The ids a claim takes (`inner` selects them, with its order and limit), chosen once.

    On PostgreSQL the locking SELECT is a `MATERIALIZED` CTE. As a plain
    `id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` the planner may pick a
    nested-loop semi-join that re-runs the subquery for every candidate row, and
    each re-run skips the rows this same UPDATE has just changed, so `LIMIT n`
    claims every due row (seen on the outbox claim). A materialized CTE runs once;
    procrastinate's fetch_job has the same shape. SQLite runs an uncorrelated
    `IN (SELECT …)` once and has no `FOR UPDATE`.
    """
    if dialect != "postgresql":
        return inner.scalar_subquery()
    cte = inner.with_for_update(skip_locked=True).cte("claimable").prefix_with("MATERIALIZED")
    return select(cte.c.id).scalar_subquery()


def claim_statement(
    model: Any,
    due: ColumnElement[bool],
    order_by: Sequence[Any],
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    dialect: str,
    extra_values: dict[str, Any] | None = None,
) -> Update:
    """Build the one-statement claim for `model` rows matching `due`."""
    free = or_(model.lease_until.is_(None), model.lease_until < now)
    inner = select(model.id).where(due, free).order_by(*order_by).limit(limit)
    values = {"claimed_by": worker, "lease_until": now + lease, **(extra_values or {})}
    return (
        update(model)
        .where(model.id.in_(claimable(inner, dialect)), due, free)
        .values(**values)
        .returning(*model.__table__.c)
        .execution_options(synchronize_session=False)
    )


async def what_is_due(session: AsyncSession, now: datetime) -> tuple[bool, bool, bool]:
    """Whether any schedule, open check-in or pause end is due: one indexed probe.

    A hint, not a claim: rows leased by another worker still count, and the claims
    that follow decide. It lets an idle tick cost one statement instead of three.
    """
    stmt = select(
        exists().where(Schedule.next_due_at <= now),
        exists().where(Checkin.next_action_at <= now, Checkin.state.in_(_OPEN)),
        exists().where(User.pause_ends_at <= now),
    )
    schedules, checkins, pauses = (await session.execute(stmt)).one()
    return bool(schedules), bool(checkins), bool(pauses)


async def claim_schedules(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta = DEFAULT_LEASE,
) -> Sequence[Row[Any]]:
    """Schedules whose next occurrence is due."""
    stmt = claim_statement(
        Schedule,
        Schedule.next_due_at <= now,
        (Schedule.next_due_at,),
        worker=worker, now=now, limit=limit, lease=lease, dialect=_dialect(session),
    )  # fmt: skip
    return (await session.execute(stmt)).all()


async def claim_checkins(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta = DEFAULT_LEASE,
) -> Sequence[Row[Any]]:
    """Open check-ins whose next action (reminder, alert, level 2) is due, oldest first."""
    due = and_(Checkin.next_action_at <= now, Checkin.state.in_(_OPEN))
    stmt = claim_statement(
        Checkin, due, (Checkin.next_action_at,),
        worker=worker, now=now, limit=limit, lease=lease, dialect=_dialect(session),
    )  # fmt: skip
    return (await session.execute(stmt)).all()


async def claim_pause_ends(
    session: AsyncSession, *, now: datetime, limit: int
) -> Sequence[Any]:
    """Pauses that have run out: clearing `pause_ends_at` is itself the claim."""
    inner = select(User.id).where(User.pause_ends_at <= now).limit(limit)
    stmt = (
        update(User)
        .where(User.id.in_(claimable(inner, _dialect(session))), User.pause_ends_at <= now)
        .values(pause_ends_at=None, paused_until=None, pause_reason=None)
        .returning(User.id, User.lang)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).all()


def outbox_claim_statement(
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    dialect: str,
    platforms: frozenset[str] | None = None,
) -> Update:
    """Messages ready to send: alerts first, and only the oldest unsent one per chat.

    A chat with an earlier message still pending or in flight is skipped, which keeps
    messages to one recipient in order and never sends two to one chat at once.
    `platforms` (None: all) limits the claim to the platforms this process sends for.
    """
    earlier = Outbox.__table__.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.platform == Outbox.platform,
            earlier.c.chat_id == Outbox.chat_id,
            earlier.c.id < Outbox.id,
            earlier.c.status.in_(("pending", "sending")),
        )
        .exists()
    )
    ready = or_(
        and_(Outbox.status == "pending", Outbox.next_attempt_at <= now),
        and_(Outbox.status == "sending", Outbox.lease_until < now),
    )
    later = Outbox.__table__.alias("later")
    alert_behind = (  # an alert waits behind this message in its own chat: let it through
        select(later.c.id)
        .where(
            later.c.platform == Outbox.platform,
            later.c.chat_id == Outbox.chat_id,
            later.c.id > Outbox.id,
            later.c.priority == PRIORITY[MessageKind.ALERT],
            later.c.status == "pending",
        )
        .exists()
    )
    routine_may_go = or_(Outbox.priority < ROUTINE, ~_alert_waiting(now), alert_behind)
    mine = [ready, ~blocked, routine_may_go]
    if platforms is not None:
        mine.append(Outbox.platform.in_(sorted(platforms)))
    inner = select(Outbox.id).where(*mine).order_by(Outbox.priority, Outbox.id).limit(limit)
    return (
        update(Outbox)
        .where(Outbox.id.in_(claimable(inner, dialect)), ready)
        .values(
            status="sending",
            claimed_by=worker,
            lease_until=now + lease,
            attempts=Outbox.attempts + 1,
        )
        .returning(*Outbox.__table__.c)
        .execution_options(synchronize_session=False)
    )


def _alert_waiting(now: datetime) -> Any:
    """An alert message is in flight, or ready to go and first in its chat.

    Uncorrelated, so the database evaluates it once per claim. While it holds, no
    routine message (prompt, notice) is claimed: a burst of alerts is on the wire
    before any routine traffic, even with several claims in flight at once. An alert
    waiting for a retry time does not hold routine traffic back.
    """
    alert = Outbox.__table__.alias("alert")
    first = Outbox.__table__.alias("first_in_chat")
    earlier = (
        select(first.c.id)
        .where(
            first.c.platform == alert.c.platform,
            first.c.chat_id == alert.c.chat_id,
            first.c.id < alert.c.id,
            first.c.status.in_(("pending", "sending")),
        )
        .exists()
    )
    in_flight = and_(alert.c.status == "sending", alert.c.lease_until >= now)
    ready = and_(alert.c.status == "pending", alert.c.next_attempt_at <= now, ~earlier)
    return (
        select(alert.c.id)
        .where(alert.c.priority == PRIORITY[MessageKind.ALERT], or_(in_flight, ready))
        .exists()
    )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
