"""What `/cleanup` will delete, and when (`bot.core.cleanup`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import CleanupItem, User


async def after_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, int]:
    """The cleanup time (seconds) of those of these people who chose one."""
    ids = set(user_ids)
    if not ids:
        return {}
    stmt = select(User.id, User.cleanup_after_s).where(
        User.id.in_(ids), User.cleanup_after_s.is_not(None)
    )
    return {uid: int(s) for uid, s in (await session.execute(stmt)).all() if s is not None}


async def remember(session: AsyncSession, items: Sequence[Mapping[str, object]]) -> None:
    """Keep messages (or a chat timer) to deal with later, in the caller's transaction."""
    if items:
        await session.execute(insert(CleanupItem), list(items))


async def due(session: AsyncSession, now: datetime, limit: int = 100) -> Sequence[CleanupItem]:
    """Items whose time has come, oldest first."""
    stmt = (
        select(CleanupItem).where(CleanupItem.due_at <= now).order_by(CleanupItem.id).limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def done(session: AsyncSession, ids: Sequence[int]) -> None:
    """Drop items dealt with (or refused for good)."""
    if ids:
        await session.execute(delete(CleanupItem).where(CleanupItem.id.in_(list(ids))))


async def later(session: AsyncSession, ids: Sequence[int], when: datetime) -> None:
    """Try these again at `when` (the platform was unreachable)."""
    if ids:
        await session.execute(
            update(CleanupItem).where(CleanupItem.id.in_(list(ids))).values(due_at=when)
        )


async def stop(session: AsyncSession, user_id: int) -> None:
    """`/cleanup off`: nothing more is deleted for this person."""
    await session.execute(delete(CleanupItem).where(CleanupItem.user_id == user_id))
