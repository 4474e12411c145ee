"""Groups, members, roles, policies and bound alert chats."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Address
from bot.store.models import GroupAlertChat, GroupMember


async def level2_targets(session: AsyncSession, user_id: int) -> tuple[list[int], list[Address]]:
    """Who hears a defender's level-2 alert: organisers of their groups, and bound chats.

    The defender is never their own recipient (an organiser can be a member too).
    """
    groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    organisers = (
        await session.execute(
            select(GroupMember.user_id)
            .where(
                GroupMember.group_id.in_(groups.scalar_subquery()),
                GroupMember.role == "organiser",
                GroupMember.user_id != user_id,
            )
            .distinct()
            .order_by(GroupMember.user_id)
        )
    ).scalars()
    chats = (
        await session.execute(
            select(GroupAlertChat.platform, GroupAlertChat.chat_id)
            .where(GroupAlertChat.group_id.in_(groups.scalar_subquery()))
            .distinct()
            .order_by(GroupAlertChat.platform, GroupAlertChat.chat_id)
        )
    ).all()
    return list(organisers), [Address(p, c) for p, c in chats]
