"""People and their platform identities (one user, many identities)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Address, Sender
from bot.store.models import Checkin, Contact, GroupMember, Identity, Schedule, User


async def find_user(session: AsyncSession, platform: str, external_id: str) -> User | None:
    """The user behind one platform identity, if known."""
    stmt = (
        select(User)
        .join(Identity)
        .where(Identity.platform == platform, Identity.external_id == external_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def register(
    session: AsyncSession, sender: Sender, private_chat: str | None, now: datetime
) -> tuple[User, bool]:
    """Find or create the user for `sender`; keep their private chat and name current.

    Returns the user and whether they are new. `private_chat` is None when the
    message came from a group chat (we do not learn the private chat from it).
    """
    stmt = select(Identity).where(
        Identity.platform == sender.platform, Identity.external_id == sender.user_id
    )
    identity = (await session.execute(stmt)).scalar_one_or_none()
    if identity is not None:
        user = await session.get_one(User, identity.user_id)
        identity.last_seen_at = now
        if private_chat is not None:
            identity.chat_id = private_chat
        if sender.display_name and user.display_name != sender.display_name:
            user.display_name = sender.display_name
        return user, False
    user = User(
        display_name=sender.display_name or "",
        created_at=now,
        lang="en",
        duress_hash=None,
        pin_hash=None,
    )  # sealed fillers: nobody can tell who set one
    session.add(user)
    await session.flush()
    session.add(
        Identity(
            user_id=user.id,
            platform=sender.platform,
            external_id=sender.user_id,
            chat_id=private_chat or sender.user_id,
            last_seen_at=now,
        )
    )
    await session.flush()
    return user, True


async def addresses_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, Address]:
    """The private chat that reaches each user: their most recently used identity."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    stmt = (
        select(Identity.user_id, Identity.platform, Identity.chat_id)
        .where(Identity.user_id.in_(ids))
        .order_by(Identity.user_id, Identity.last_seen_at.desc(), Identity.id.desc())
    )
    found: dict[int, Address] = {}
    for user_id, platform, chat_id in (await session.execute(stmt)).all():
        found.setdefault(user_id, Address(platform, chat_id))
    return found


async def address_of(session: AsyncSession, user_id: int) -> Address | None:
    """The private chat that reaches one user."""
    return (await addresses_of(session, [user_id])).get(user_id)


async def names_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    """Display names (decrypted) of several users."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = (await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))).all()
    return {uid: name for uid, name in rows}


async def langs_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's chosen language."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = (await session.execute(select(User.id, User.lang).where(User.id.in_(ids)))).all()
    return {uid: lang for uid, lang in rows}


async def pause_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, datetime | None]:
    """When each person's pause ends (None: not paused)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    stmt = select(User.id, User.paused_until).where(User.id.in_(ids))
    return {uid: until for uid, until in (await session.execute(stmt)).all()}


async def users_by_id(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, User]:
    """Several people by id, with one query."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    return {
        u.id: u for u in (await session.execute(select(User).where(User.id.in_(ids)))).scalars()
    }


async def other_addresses(session: AsyncSession, user_id: int, platform: str) -> list[Address]:
    """The private chats of a user on platforms other than `platform`, most recent first."""
    stmt = (
        select(Identity.platform, Identity.chat_id)
        .where(Identity.user_id == user_id, Identity.platform != platform)
        .order_by(Identity.last_seen_at.desc(), Identity.id.desc())
    )
    return [Address(p, c) for p, c in (await session.execute(stmt)).all()]


async def platforms_of(session: AsyncSession, user_id: int) -> set[str]:
    """The platforms a user has an identity on."""
    stmt = select(Identity.platform).where(Identity.user_id == user_id)
    return set((await session.execute(stmt)).scalars())


async def has_own_data(session: AsyncSession, user_id: int) -> bool:
    """True when a user has check-ins, schedules, contact links or groups of their own."""
    checks = (
        exists().where(Schedule.user_id == user_id),
        exists().where(Checkin.user_id == user_id),
        exists().where(or_(Contact.defender_id == user_id, Contact.contact_id == user_id)),
        exists().where(GroupMember.user_id == user_id),
    )
    for check in checks:
        if (await session.execute(select(check))).scalar():
            return True
    return False


async def merge_into(session: AsyncSession, from_user_id: int, into_user_id: int) -> None:
    """Move every identity of an empty user to another user, then delete the empty one."""
    await session.execute(
        update(Identity)
        .where(Identity.user_id == from_user_id)
        .values(user_id=into_user_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(User).where(User.id == from_user_id))


async def unlink_others(session: AsyncSession, user_id: int, keep_platform: str) -> int:
    """Remove a user's identities on other platforms; returns how many."""
    stmt = delete(Identity).where(Identity.user_id == user_id, Identity.platform != keep_platform)
    result: CursorResult[Any] = await session.execute(stmt)  # type: ignore[assignment]
    return int(result.rowcount or 0)


async def private_chats(session: AsyncSession, user_ids: Iterable[int]) -> set[tuple[str, str]]:
    """(platform, chat id) of these people's private chats with the bot."""
    stmt = select(Identity.platform, Identity.chat_id).where(Identity.user_id.in_(set(user_ids)))
    return {(p, c) for p, c in (await session.execute(stmt)).all()}
