"""Operations state: reports already told, single-holder leases, and heartbeats.

Each function works in the caller's transaction and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Alert, Checkin, OpsBeat, OpsLease, OpsReport, Outbox, Schedule
from bot.store.outbox import dialect_insert

_OPEN = ("pending", "late", "missed")
_UNSENT = ("pending", "sending")


async def first_report(session: AsyncSession, dedupe_key: str, event: str, now: datetime) -> bool:
    """Record a report; False if one with this key was made before (tell it once)."""
    stmt = (
        dialect_insert(session, OpsReport)
        .values(dedupe_key=dedupe_key, event=event, created_at=now)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return bool((await session.execute(stmt)).rowcount)


async def recent_reports(
    session: AsyncSession, since: datetime, limit: int = 10
) -> list[tuple[str, datetime]]:
    """(event, when) of the latest reports since `since`, newest first."""
    stmt = (
        select(OpsReport.event, OpsReport.created_at)
        .where(OpsReport.created_at >= since)
        .order_by(OpsReport.created_at.desc(), OpsReport.id.desc())
        .limit(limit)
    )
    return [(row.event, row.created_at) for row in await session.execute(stmt)]


async def beat(session: AsyncSession, name: str, at: datetime) -> None:
    """Record that `name` (e.g. "tick") happened healthily at `at`; never moves back."""
    stmt = dialect_insert(session, OpsBeat).values(name=name, at=at)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={"at": at}, where=OpsBeat.at < at
    )
    await session.execute(stmt)


async def last_beat(session: AsyncSession, name: str) -> datetime | None:
    """When `name` last happened healthily, or None if never."""
    return (await session.execute(select(OpsBeat.at).where(OpsBeat.name == name))).scalar()


@dataclass
class Backlog:
    """What is waiting, for metrics and `holdfast status` (counts only, nothing personal)."""

    schedules_due: int = 0
    checkins_due: int = 0
    outbox: dict[str, int] = field(default_factory=dict)  # unsent messages by kind
    oldest_alert_at: datetime | None = None  # the oldest unsent alert message
    open_alerts: dict[int, int] = field(default_factory=dict)  # by level
    unacked_overdue: int = 0  # open, unacknowledged, older than the ack time-out


async def backlog(session: AsyncSession, now: datetime, ack_timeout: timedelta) -> Backlog:
    """Count what is due, unsent and unacknowledged at `now` (a handful of indexed counts)."""
    found = Backlog()
    found.schedules_due = await _count(session, Schedule, Schedule.next_due_at <= now)
    found.checkins_due = await _count(
        session, Checkin, Checkin.next_action_at <= now, Checkin.state.in_(_OPEN)
    )
    rows = await session.execute(
        select(Outbox.kind, func.count()).where(Outbox.status.in_(_UNSENT)).group_by(Outbox.kind)
    )
    found.outbox = {kind: int(n) for kind, n in rows}
    found.oldest_alert_at = (
        await session.execute(
            select(func.min(Outbox.created_at)).where(
                Outbox.status.in_(_UNSENT), Outbox.kind == "alert"
            )
        )
    ).scalar()
    rows = await session.execute(
        select(Alert.level, func.count()).where(Alert.resolved_at.is_(None)).group_by(Alert.level)
    )
    found.open_alerts = {int(level): int(n) for level, n in rows}
    overdue = (
        select(func.count())
        .select_from(Alert)
        .join(Checkin, Checkin.id == Alert.checkin_id)
        .where(
            Alert.resolved_at.is_(None),
            Checkin.acked_at.is_(None),
            Alert.created_at < now - ack_timeout,
        )
    )
    found.unacked_overdue = int((await session.execute(overdue)).scalar() or 0)
    return found


async def _count(session: AsyncSession, table: type, *where: ColumnElement[bool]) -> int:
    stmt = select(func.count()).select_from(table).where(*where)
    return int((await session.execute(stmt)).scalar() or 0)


async def leases(session: AsyncSession) -> list[tuple[str, str, datetime]]:
    """(role, holder, lease_until) of every single-holder role."""
    rows = await session.execute(
        select(OpsLease.name, OpsLease.holder, OpsLease.lease_until).order_by(OpsLease.name)
    )
    return [(r.name, r.holder, r.lease_until) for r in rows]
