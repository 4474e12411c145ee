"""Operations state: reports already told, single-holder leases, and heartbeats.

Each function works in the caller's transaction and never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import OpsBeat, OpsReport
from bot.store.outbox import dialect_insert


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
