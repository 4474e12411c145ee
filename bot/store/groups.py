"""Groups, members, roles, policies, group schedules and bound alert chats.

Every query here is keyed by group id and membership, never by name: names are
encrypted at rest, so a group named in a command is found among the sender's own
groups (`groups_of`) after decryption, never by a WHERE on the name. Lists that
grow with a group (members and their status, the people a group schedule covers)
are read in one statement each, so an organiser's view of a 500-member group costs
what a 5-member one does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.lifecycle import State
from bot.core.model import Address
from bot.store.db import affected
from bot.store.models import (
    Alert,
    AlertRecipient,
    Checkin,
    Group,
    GroupAlertChat,
    GroupLogEntry,
    GroupMember,
    Invite,
    Schedule,
    User,
)
from bot.store.outbox import dialect_insert

ORGANISER = "organiser"
MEMBER = "member"


async def level2_targets(session: AsyncSession, user_id: int) -> tuple[list[int], list[Address]]:
    """Who hears a defender's level-2 alert: organisers of their groups, and bound chats.

    The defender is never their own recipient (an organiser can be a member too).
    """
    return (await level2_targets_many(session, [user_id])).get(user_id, ([], []))


async def level2_targets_many(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, tuple[list[int], list[Address]]]:
    """`level2_targets` for several defenders with two queries (a burst of alerts)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    member, organiser = aliased(GroupMember), aliased(GroupMember)
    people = (
        select(member.user_id, organiser.user_id)
        .join(
            organiser,
            and_(
                organiser.group_id == member.group_id,
                organiser.role == ORGANISER,
                organiser.user_id != member.user_id,
            ),
        )
        .where(member.user_id.in_(ids))
        .distinct()
        .order_by(member.user_id, organiser.user_id)
    )
    chats = (
        select(member.user_id, GroupAlertChat.platform, GroupAlertChat.chat_id)
        .join(GroupAlertChat, GroupAlertChat.group_id == member.group_id)
        .where(member.user_id.in_(ids))
        .distinct()
        .order_by(member.user_id, GroupAlertChat.platform, GroupAlertChat.chat_id)
    )
    found: dict[int, tuple[list[int], list[Address]]] = {}
    for uid, boss in (await session.execute(people)).all():
        found.setdefault(uid, ([], []))[0].append(boss)
    for uid, platform, chat_id in (await session.execute(chats)).all():
        found.setdefault(uid, ([], []))[1].append(Address(platform, chat_id))
    return found


# -- groups and membership -----------------------------------------------------------


async def create_group(
    session: AsyncSession, *, name: str, creator_id: int, now: datetime
) -> Group:
    """A new group whose creator is its owner and first organiser."""
    group = Group(name=name, created_at=now, owner_id=creator_id)
    session.add(group)
    await session.flush()
    session.add(GroupMember(group_id=group.id, user_id=creator_id, role=ORGANISER, joined_at=now))
    await log_event(session, group.id, now, "created", creator_id)
    await session.flush()
    return group


async def organised_count(session: AsyncSession, user_id: int) -> int:
    """How many groups a person runs (to cap group creation)."""
    stmt = select(func.count()).where(GroupMember.user_id == user_id, GroupMember.role == ORGANISER)
    return int((await session.execute(stmt)).scalar_one())


async def role_in(session: AsyncSession, group_id: int, user_id: int) -> tuple[Group, str] | None:
    """The group and this person's role in it; None if either does not exist.

    One answer for "no such group" and "not in it", so callers cannot leak which.
    """
    stmt = (
        select(Group, GroupMember.role)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(Group.id == group_id, GroupMember.user_id == user_id)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def groups_of(session: AsyncSession, user_id: int) -> list[tuple[int, str]]:
    """(id, name) of every group this person belongs to, in any role, oldest first."""
    stmt = (
        select(Group.id, Group.name)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
        .order_by(Group.id)
    )
    return [(gid, name) for gid, name in (await session.execute(stmt)).all()]


async def add_member(
    session: AsyncSession, group_id: int, user_id: int, now: datetime, role: str = MEMBER
) -> bool:
    """Add a person to a group; False if they already belong to it."""
    stmt = (
        dialect_insert(session, GroupMember)
        .values(group_id=group_id, user_id=user_id, role=role, joined_at=now)
        .on_conflict_do_nothing(index_elements=["group_id", "user_id"])
    )
    return bool(affected(await session.execute(stmt)))


async def member(session: AsyncSession, group_id: int, member_id: int) -> GroupMember | None:
    """A membership by the number /group_members shows, within one group only."""
    found = await session.get(GroupMember, member_id)
    return found if found is not None and found.group_id == group_id else None


async def remove_member(session: AsyncSession, group_id: int, user_id: int) -> None:
    """End a membership and the group's schedules for that person (open check-ins stay)."""
    await session.execute(
        delete(Schedule).where(Schedule.group_id == group_id, Schedule.user_id == user_id)
    )
    await session.execute(
        delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
    )


async def set_role(session: AsyncSession, member_id: int, role: str) -> bool:
    """Change a role; False if it already was that role."""
    stmt = (
        update(GroupMember)
        .where(GroupMember.id == member_id, GroupMember.role != role)
        .values(role=role)
        .execution_options(synchronize_session=False)
    )
    return bool(affected(await session.execute(stmt)))


async def headcount(session: AsyncSession, group_id: int) -> tuple[int, int]:
    """(organisers, everyone) in a group."""
    stmt = select(func.count().filter(GroupMember.role == ORGANISER), func.count()).where(
        GroupMember.group_id == group_id
    )
    organisers, everyone = (await session.execute(stmt)).one()
    return int(organisers), int(everyone)


async def organiser_ids(session: AsyncSession, group_id: int) -> list[int]:
    """User ids of a group's organisers."""
    stmt = select(GroupMember.user_id).where(
        GroupMember.group_id == group_id, GroupMember.role == ORGANISER
    )
    return list((await session.execute(stmt.order_by(GroupMember.id))).scalars())


async def delete_group(session: AsyncSession, group_id: int) -> None:
    """Remove a group with everything hanging off it (members, schedules, chats, invites)."""
    for model in (Schedule, GroupAlertChat, Invite, GroupMember, GroupLogEntry):
        await session.execute(delete(model).where(model.group_id == group_id))
    await session.execute(delete(Group).where(Group.id == group_id))


# -- ownership and the group log ----------------------------------------------------


async def set_owner(session: AsyncSession, group_id: int, user_id: int) -> None:
    """Hand the group to `user_id` (an organiser: promoted here if need be)."""
    await session.execute(
        update(Group).where(Group.id == group_id).values(owner_id=user_id)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await session.execute(
        update(GroupMember)
        .where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
        .values(role=ORGANISER)
        .execution_options(synchronize_session=False)
    )


async def successor(session: AsyncSession, group_id: int, leaving_id: int) -> int | None:
    """The longest-serving organiser other than `leaving_id`, who inherits the group."""
    stmt = (
        select(GroupMember.user_id)
        .where(
            GroupMember.group_id == group_id,
            GroupMember.role == ORGANISER,
            GroupMember.user_id != leaving_id,
        )
        .order_by(GroupMember.joined_at, GroupMember.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def member_ids(session: AsyncSession, group_id: int) -> list[int]:
    """Everyone in a group, organisers included, oldest first."""
    stmt = select(GroupMember.user_id).where(GroupMember.group_id == group_id)
    return list((await session.execute(stmt.order_by(GroupMember.id))).scalars())


async def log_event(
    session: AsyncSession,
    group_id: int,
    at: datetime,
    event: str,
    actor_id: int | None,
    target_id: int | None = None,
) -> None:
    """Record who changed what in the group (roles and bindings only)."""
    await session.execute(
        insert(GroupLogEntry).values(
            group_id=group_id, at=at, event=event, actor_id=actor_id, target_id=target_id
        )
    )


async def group_log(
    session: AsyncSession, group_id: int, limit: int = 30
) -> list[tuple[datetime, str, int | None, int | None]]:
    """The newest `limit` entries of a group's log, oldest first."""
    stmt = (
        select(GroupLogEntry.at, GroupLogEntry.event, GroupLogEntry.actor_id,
               GroupLogEntry.target_id)
        .where(GroupLogEntry.group_id == group_id)
        .order_by(GroupLogEntry.id.desc())
        .limit(limit)
    )  # fmt: skip
    rows = [(r[0], r[1], r[2], r[3]) for r in (await session.execute(stmt)).all()]
    return rows[::-1]


# -- invites -----------------------------------------------------------------------


async def pending_invites(session: AsyncSession, group_id: int, now: datetime) -> int:
    """How many member invites of a group still wait to be used."""
    stmt = select(func.count()).where(
        Invite.group_id == group_id, Invite.status == "pending", Invite.expires_at > now
    )
    return int((await session.execute(stmt)).scalar_one())


async def revoke_invites(session: AsyncSession, group_id: int, now: datetime) -> int:
    """Revoke every invite of a group that could still be used; returns how many."""
    stmt = (
        update(Invite)
        .where(Invite.group_id == group_id, Invite.status == "pending", Invite.expires_at > now)
        .values(status="revoked", expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return affected(await session.execute(stmt))


# -- group schedules ---------------------------------------------------------------


async def covered(session: AsyncSession, group_id: int) -> Sequence[tuple[int, str | None]]:
    """(user id, time zone) of everyone a group schedule covers.

    That is every member, plus anyone who already has the group's check-ins (an
    organiser promoted from member keeps them; the creator never had them).
    """
    ids = union(
        select(GroupMember.user_id).where(
            GroupMember.group_id == group_id, GroupMember.role == MEMBER
        ),
        select(Schedule.user_id).where(Schedule.group_id == group_id),
    ).subquery()
    stmt = (
        select(User.id, User.timezone).where(User.id.in_(select(ids.c.user_id))).order_by(User.id)
    )
    return [(uid, tz) for uid, tz in (await session.execute(stmt)).all()]


async def replace_schedules(
    session: AsyncSession,
    group: Group,
    spec: str | None,
    due: Sequence[tuple[int, datetime]],
    now: datetime,
) -> None:
    """Set the group's schedule and its one row per covered person, in two statements."""
    group.schedule_spec = spec
    await session.execute(delete(Schedule).where(Schedule.group_id == group.id))
    if spec is None or not due:
        return
    rows = [
        {"user_id": uid, "group_id": group.id, "spec": spec, "anchor_at": now,
         "next_due_at": at, "created_at": now}
        for uid, at in due
    ]  # fmt: skip
    await session.execute(insert(Schedule), rows)


# -- alert chats -------------------------------------------------------------------


async def bind_chat(session: AsyncSession, group_id: int, chat: Address, now: datetime) -> bool:
    """Make a chat one of the group's alert channels; False if it already was."""
    stmt = (
        dialect_insert(session, GroupAlertChat)
        .values(group_id=group_id, platform=chat.platform, chat_id=chat.chat_id, bound_at=now)
        .on_conflict_do_nothing(index_elements=["group_id", "platform", "chat_id"])
    )
    return bool(affected(await session.execute(stmt)))


async def unbind_chat(session: AsyncSession, group_id: int, chat: Address) -> bool:
    """Stop sending the group's alerts to a chat; False if it was not bound."""
    stmt = delete(GroupAlertChat).where(
        GroupAlertChat.group_id == group_id,
        GroupAlertChat.platform == chat.platform,
        GroupAlertChat.chat_id == chat.chat_id,
    )
    return bool(affected(await session.execute(stmt)))


async def alert_chats(session: AsyncSession, group_id: int) -> list[Address]:
    """The chats bound as a group's alert channels."""
    stmt = select(GroupAlertChat.platform, GroupAlertChat.chat_id).where(
        GroupAlertChat.group_id == group_id
    )
    return [Address(p, c) for p, c in (await session.execute(stmt)).all()]


async def is_alert_chat(session: AsyncSession, group_id: int, chat: Address) -> bool:
    """Whether a chat is bound as this group's alert channel."""
    stmt = select(GroupAlertChat.id).where(
        GroupAlertChat.group_id == group_id,
        GroupAlertChat.platform == chat.platform,
        GroupAlertChat.chat_id == chat.chat_id,
    )
    return (await session.execute(stmt)).first() is not None


async def alert_for_chat(
    session: AsyncSession, chat: Address, checkin_id: int | None
) -> Checkin | None:
    """The open check-in alerted to this chat that someone in it may acknowledge."""
    stmt = (
        select(Checkin)
        .join(Alert, Alert.checkin_id == Checkin.id)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(
            AlertRecipient.user_id.is_(None),
            AlertRecipient.platform == chat.platform,
            AlertRecipient.chat_id == chat.chat_id,
            Checkin.state == State.MISSED.value,
        )
        .order_by(Checkin.id.desc())
        .limit(1)
    )
    if checkin_id is not None:
        stmt = stmt.where(Checkin.id == checkin_id)
    return (await session.execute(stmt)).scalars().first()


# -- the organiser's view ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberView:
    """What an organiser may see of one person: never notes, scores or contacts."""

    member_id: int
    role: str
    name: str
    paused_until: datetime | None
    state: str | None  # of their newest check-in of this group


async def overview(session: AsyncSession, group_id: int) -> tuple[list[MemberView], int]:
    """Every person of a group with their newest group check-in state, and bound chats.

    Two statements whatever the group's size. The newest check-in is the highest id
    among the person's check-ins of this group (the user-id index narrows the scan).
    """
    people = select(GroupMember.user_id).where(GroupMember.group_id == group_id)
    newest = (
        select(Checkin.user_id, func.max(Checkin.id).label("checkin_id"))
        .where(Checkin.group_id == group_id, Checkin.user_id.in_(people.scalar_subquery()))
        .group_by(Checkin.user_id)
        .subquery()
    )
    stmt = (
        select(
            GroupMember.id, GroupMember.role, User.display_name, User.paused_until, Checkin.state
        )
        .join(User, User.id == GroupMember.user_id)
        .outerjoin(newest, newest.c.user_id == GroupMember.user_id)
        .outerjoin(Checkin, Checkin.id == newest.c.checkin_id)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.id)
    )
    views = [MemberView(*row) for row in (await session.execute(stmt)).all()]
    chats = select(func.count()).where(GroupAlertChat.group_id == group_id)
    return views, int((await session.execute(chats)).scalar_one())


async def groups_by_id(session: AsyncSession, group_ids: Iterable[int]) -> dict[int, Group]:
    """Several groups by id, with one query."""
    ids = list(set(group_ids))
    if not ids:
        return {}
    found = await session.execute(select(Group).where(Group.id.in_(ids)))
    return {g.id: g for g in found.scalars()}
