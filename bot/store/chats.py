"""Per-chat facts: the numbered choices last shown, and chats that changed id."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Outgoing
from bot.store.db import affected
from bot.store.models import (
    AlertRecipient,
    ChatChoices,
    GroupAlertChat,
    Identity,
    ProcessedInbound,
)
from bot.store.outbox import dialect_insert

#: A numbered reply older than this no longer selects a choice.
CHOICES_TTL = timedelta(days=2)


async def remember_choices(session: AsyncSession, out: Outgoing, now: datetime) -> None:
    """Remember what "1", "2", … mean in this chat (platforms without buttons)."""
    commands = json.dumps([c.command for c in out.flat_choices])
    stmt = select(ChatChoices).where(
        ChatChoices.platform == out.to.platform, ChatChoices.chat_id == out.to.chat_id
    )
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        session.add(
            ChatChoices(
                platform=out.to.platform, chat_id=out.to.chat_id, commands=commands, shown_at=now
            )
        )
    else:
        found.commands, found.shown_at = commands, now


async def choice_for(
    session: AsyncSession, platform: str, chat_id: str, number: int, now: datetime
) -> str | None:
    """The command behind a numbered reply, if a recent message offered it."""
    stmt = select(ChatChoices).where(
        ChatChoices.platform == platform, ChatChoices.chat_id == chat_id
    )
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None or now - found.shown_at > CHOICES_TTL:
        return None
    commands = json.loads(found.commands)
    return commands[number - 1] if 1 <= number <= len(commands) else None


async def chat_moved(session: AsyncSession, platform: str, old: str, new: str) -> None:
    """A chat got a new id (Telegram group → supergroup): follow it everywhere we store it."""
    for model in (GroupAlertChat, Identity, AlertRecipient):
        await session.execute(
            update(model)
            .where(model.platform == platform, model.chat_id == old)
            .values(chat_id=new)
            .execution_options(synchronize_session=False)
        )


async def first_time(session: AsyncSession, platform: str, key: str, now: datetime) -> bool:
    """Record an incoming update; False if it was already handled (fetched twice)."""
    stmt = (
        dialect_insert(session, ProcessedInbound)
        .values(platform=platform, key=key, at=now)
        .on_conflict_do_nothing(index_elements=["platform", "key"])
    )
    return bool(affected(await session.execute(stmt)))


async def purge_inbound(session: AsyncSession, before: datetime) -> int:
    """Forget handled update ids older than `before` (platforms redeliver for a day at most)."""
    result = await session.execute(delete(ProcessedInbound).where(ProcessedInbound.at < before))
    return affected(result)
