"""Make a group directly in the database: `organiser` runs a group `defender` belongs to.

For stories about level 2 that are not about setting groups up (no invite codes,
no transcripts of /group_new): the organiser and the defender must have talked to
the bot first, on any platform.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.store.db import transaction
from bot.store.models import Group, GroupMember, Identity
from tests.support.harness import Harness


async def user_of(h: Harness, platform: str, chat_id: str) -> int:
    """The user id behind a private chat."""
    async with transaction(h.app.rt.sessions) as session:
        stmt = select(Identity.user_id).where(
            Identity.platform == platform, Identity.chat_id == str(chat_id)
        )
        return int((await session.execute(stmt)).scalar_one())


async def organise(h: Harness, organiser: int, defender: int, name: str = "Field team") -> None:
    """A group run by user `organiser` with user `defender` as a member."""
    now = h.clock.now()
    async with transaction(h.app.rt.sessions) as session:
        group = Group(name=name, created_at=now)
        session.add(group)
        await session.flush()
        for uid, role in ((organiser, "organiser"), (defender, "member")):
            session.add(GroupMember(group_id=group.id, user_id=uid, role=role, joined_at=now))
