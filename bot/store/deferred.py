"""Commands that wait for the sender's alert (`bot.core.seized`), and what they wait on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycle import State
from bot.store.db import affected
from bot.store.models import Alert, Checkin, DeferredCommand, Outbox

#: Outbox states of a message not yet sent (or being sent right now).
_WAITING = ("pending", "sending")


async def alert_state(session: AsyncSession, user_id: int) -> tuple[bool, bool]:
    """(an alert of this person is open, messages of their alerts wait to be sent)."""
    open_alert = exists().where(Checkin.user_id == user_id, Checkin.state == State.MISSED.value)
    mine = select(Alert.id).join(Checkin, Checkin.id == Alert.checkin_id)
    unsent = exists().where(
        Outbox.alert_id.in_(mine.where(Checkin.user_id == user_id).scalar_subquery()),
        Outbox.status.in_(_WAITING),
    )
    row = (await session.execute(select(open_alert, unsent))).one()
    return bool(row[0]), bool(row[1])


async def alert_checkins(session: AsyncSession, user_id: int) -> list[int]:
    """This person's check-ins whose alert is open or has messages waiting."""
    waiting = (
        select(Alert.checkin_id)
        .join(Outbox, Outbox.alert_id == Alert.id)
        .where(Outbox.status.in_(_WAITING))
    )
    stmt = select(Checkin.id).where(
        Checkin.user_id == user_id,
        (Checkin.state == State.MISSED.value) | Checkin.id.in_(waiting),
    )
    return list((await session.execute(stmt)).scalars())


async def defer(
    session: AsyncSession,
    *,
    user_id: int,
    when: str,
    text: str,
    platform: str,
    chat_id: str,
    now: datetime,
) -> None:
    """Keep a command to carry out later (in the caller's transaction)."""
    session.add(
        DeferredCommand(
            user_id=user_id, when=when, text=text, platform=platform, chat_id=chat_id,
            created_at=now,
        )
    )  # fmt: skip
    await session.flush()


async def waiting(session: AsyncSession, limit: int = 200) -> Sequence[DeferredCommand]:
    """Commands waiting, oldest first."""
    stmt = select(DeferredCommand).order_by(DeferredCommand.id).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def take(session: AsyncSession, command_id: int) -> bool:
    """Remove a command about to be carried out; False if another worker took it."""
    stmt = delete(DeferredCommand).where(DeferredCommand.id == command_id)
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return bool(affected(result))


async def any_waiting(session: AsyncSession) -> bool:
    """Whether any command waits (one indexed probe: the common answer is no)."""
    return bool((await session.execute(select(exists().where(DeferredCommand.id > 0)))).scalar())
