"""Operations state: reports already told, single-holder leases, and heartbeats.

Each function works in the caller's transaction and never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.db import affected
from bot.store.models import (
    Alert,
    Checkin,
    OpsBeat,
    OpsLease,
    OpsReport,
    Outbox,
    Schedule,
    User,
)
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
    return bool(affected(await session.execute(stmt)))


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


# -- outages --------------------------------------------------------------------------


async def take_outage(session: AsyncSession, last: datetime, now: datetime) -> bool:
    """Claim the telling of the outage that ended now: only one process wins.

    Moves the "tick" beat from `last` to `now` only if nobody moved it meanwhile (a
    compare-and-set), so two workers starting together tell people once.
    """
    stmt = (
        update(OpsBeat)
        .where(OpsBeat.name == "tick", OpsBeat.at == last)
        .values(at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(affected(await session.execute(stmt)))


def _not_paused(now: datetime) -> ColumnElement[bool]:
    return or_(User.paused_until.is_(None), User.paused_until <= now)


async def overdue_unalerted(session: AsyncSession, now: datetime) -> list[Any]:
    """Open check-ins whose next step is overdue and that alerted nobody yet: (id, user_id)."""
    stmt = (
        select(Checkin.id, Checkin.user_id)
        .join(User, User.id == Checkin.user_id)
        .where(
            Checkin.next_action_at <= now,
            Checkin.state.in_(("pending", "late")),
            Checkin.level == 0,
            _not_paused(now),
        )
        .order_by(Checkin.id)
    )
    return list((await session.execute(stmt)).all())


async def schedules_overdue(session: AsyncSession, now: datetime) -> list[Any]:
    """Schedules whose occurrence fell due and was not prompted: (id, user_id)."""
    stmt = (
        select(Schedule.id, Schedule.user_id)
        .join(User, User.id == Schedule.user_id)
        .where(Schedule.next_due_at <= now, _not_paused(now))
        .order_by(Schedule.id)
    )
    return list((await session.execute(stmt)).all())


async def restart_checkins(
    session: AsyncSession, ids: list[int], now: datetime, window: timedelta
) -> int:
    """Give overdue, unalerted check-ins a fresh response window from `now`."""
    if not ids:
        return 0
    stmt = (
        update(Checkin)
        .where(Checkin.id.in_(ids), Checkin.level == 0, Checkin.state.in_(("pending", "late")))
        .values(
            state="pending",
            deadline_at=now + window,
            next_action_at=now + window,
            claimed_by=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return affected(await session.execute(stmt))


async def people(session: AsyncSession, ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
    """(language, time zone) of each person."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(User.id, User.lang, User.timezone).where(User.id.in_(wanted))
    )
    return {r.id: (r.lang, r.timezone) for r in rows}


# -- leases ---------------------------------------------------------------------------


async def hold_lease(
    session: AsyncSession, name: str, holder: str, now: datetime, ttl: timedelta
) -> tuple[bool, str | None]:
    """Take or renew the lease `name` until `now + ttl`: (held, previous holder).

    One upsert that only succeeds when the row is free, expired, or already ours;
    PostgreSQL re-checks the condition on the locked row, so two standbys racing for
    an expired lease end with one holder. The previous holder lets the caller tell a
    takeover from a renewal.
    """
    before = (await session.execute(select(OpsLease.holder).where(OpsLease.name == name))).scalar()
    table = OpsLease.__table__
    stmt = dialect_insert(session, OpsLease).values(
        name=name, holder=holder, lease_until=now + ttl, acquired_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "holder": stmt.excluded.holder,
            "lease_until": stmt.excluded.lease_until,
            "acquired_at": case(
                (table.c.holder == stmt.excluded.holder, table.c.acquired_at),
                else_=stmt.excluded.acquired_at,
            ),
        },
        where=or_(table.c.holder == holder, table.c.lease_until < now),
    )
    held = bool(affected(await session.execute(stmt)))
    return held, before


async def lease_holder(session: AsyncSession, name: str, now: datetime) -> str | None:
    """Who holds `name` now (None when free or expired)."""
    stmt = select(OpsLease.holder).where(OpsLease.name == name, OpsLease.lease_until >= now)
    return (await session.execute(stmt)).scalar()


async def drop_lease(session: AsyncSession, name: str, holder: str) -> None:
    """Give up `name` if we hold it, so a standby need not wait for it to expire."""
    await session.execute(delete(OpsLease).where(OpsLease.name == name, OpsLease.holder == holder))


async def ping(session: AsyncSession) -> None:
    """A trivial query: raises if the database cannot be reached."""
    await session.execute(select(1))
