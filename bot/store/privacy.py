"""A person's data under their control: export it all (`/mydata`), erase it all (`/forgetme`).

Export leaves out what the person holding the phone must never learn: duress
alerts and their traces, and the hashes of the duress word and PIN. Internal row
ids of check-ins and alerts are left out too, so a hidden row leaves no gap.

Erase removes every row that refers to the person, in every table: by user id,
by their identities (platform ids, private chats, and Signal's inbound dedupe keys,
which start with the sender's id), and sent messages to the people around them
that named them. Foreign-key cascades would catch most of it; the deletes are
explicit so the guarantee does not hang on a pragma.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, false, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycle import Kind
from bot.core.model import Address, Outgoing
from bot.store import groups as group_store
from bot.store import outbox, wellbeing
from bot.store.checkins import kind_of
from bot.store.db import affected
from bot.store.models import (
    Alert,
    AlertRecipient,
    BadCodeAttempt,
    ChatChoices,
    Checkin,
    CleanupItem,
    Contact,
    DeferredCommand,
    Group,
    GroupAlertChat,
    GroupMember,
    Identity,
    Invite,
    Outbox,
    Schedule,
    User,
)

#: Dedupe-key prefix of the one message sent after an erasure; deleted once sent.
FAREWELL = "farewell:"
#: Dedupe-key prefix of data exports, which are not repeated inside later exports.
EXPORT = "mydata:"
#: Dedupe-key prefix of replies about the duress word, which no export shows.
HIDDEN = "hidden:"
#: Dedupe-key prefix of a duress alert's stand-in for an SOS's reach report (recorded
#: as sent, never sent, never exported); as long as the real one's "sosreach:", since a
#: sealed key is as long as the key.
STAND_IN = "hidreach:"

Chat = tuple[str, str]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# -- export ----------------------------------------------------------------------------


async def export(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Everything stored about a person, as JSON-ready data (duress traces left out)."""
    user = await session.get_one(User, user_id)
    identities = (
        (await session.execute(select(Identity).where(Identity.user_id == user_id))).scalars().all()
    )
    chats = [(i.platform, i.chat_id) for i in identities]
    return {
        "person": {
            "display_name": user.display_name,
            "timezone": user.timezone,
            "language": user.lang,
            "created_at": _iso(user.created_at),
            "last_check_in_at": _iso(user.last_ok_at),
            "paused_until": _iso(user.paused_until),
            "pause_reason": user.pause_reason,
        },
        "identities": [
            {
                "platform": i.platform,
                "id": i.external_id,
                "chat": i.chat_id,
                "last_seen_at": _iso(i.last_seen_at),
            }
            for i in identities
        ],
        "schedules": await _schedules(session, user_id),
        "check_ins": await _checkins(session, user_id),
        "trusted_contacts": await _links(session, user_id, mine=True),
        "trusted_contact_for": await _links(session, user_id, mine=False),
        "invitations": await _invites(session, user_id),
        "groups": await _groups(session, user_id),
        "messages_to_you": await _messages(session, user_id, chats),
        "well_being": await wellbeing.export(session, user_id),
        "wrong_invite_codes_at": [
            _iso(at)
            for at in (
                await session.execute(
                    select(BadCodeAttempt.at).where(BadCodeAttempt.user_id == user_id)
                )
            ).scalars()
        ],
    }


async def _schedules(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(select(Schedule).where(Schedule.user_id == user_id))
    return [
        {
            "id": s.id,
            "spec": s.spec,
            "group": s.group_id is not None,
            "next_due_at": _iso(s.next_due_at),
            "created_at": _iso(s.created_at),
        }
        for s in rows.scalars()
    ]


async def _checkins(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """Check-ins with the alerts raised for each; a duress alert is not one of them."""
    stmt = (
        select(Checkin)
        .where(Checkin.user_id == user_id, Checkin.kind != Kind.DURESS.value)
        .order_by(Checkin.due_at, Checkin.id)
    )
    found = [c for c in (await session.execute(stmt)).scalars() if kind_of(c) != Kind.DURESS]
    alerts: dict[int, list[dict[str, Any]]] = {}
    ids = [c.id for c in found]
    if ids:
        rows = await session.execute(
            select(Alert).where(Alert.checkin_id.in_(ids)).order_by(Alert.level)
        )
        for a in rows.scalars():
            alerts.setdefault(a.checkin_id, []).append(
                {"level": a.level, "at": _iso(a.created_at), "resolved_at": _iso(a.resolved_at)}
            )
    return [
        {
            "kind": c.kind,
            "due_at": _iso(c.due_at),
            "state": c.state,
            "answered_at": _iso(c.answered_at),
            "score": c.score,
            "note": c.note,
            "message": c.message,
            "acknowledged_at": _iso(c.acked_at),
            "alerts": alerts.get(c.id, []),
        }
        for c in found
    ]


async def _links(session: AsyncSession, user_id: int, *, mine: bool) -> list[dict[str, Any]]:
    me, other = (Contact.defender_id, Contact.contact_id)
    if not mine:
        me, other = other, me
    stmt = (
        select(Contact, User.display_name)
        .join(User, User.id == other)
        .where(me == user_id)
        .order_by(Contact.id)
    )
    if mine:  # the people who protect them: by the label they chose, never by name
        return [
            {"id": c.id, "label": c.label, "since": _iso(c.created_at)}
            for c, _ in (await session.execute(stmt)).all()
        ]
    return [
        {"id": c.id, "name": name, "since": _iso(c.created_at)}
        for c, name in (await session.execute(stmt)).all()
    ]


async def _invites(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    stmt = select(Invite).where(Invite.inviter_id == user_id).order_by(Invite.id)
    return [
        {
            "kind": i.kind,
            "label": i.label,
            "status": i.status,
            "created_at": _iso(i.created_at),
            "expires_at": _iso(i.expires_at),
        }
        for i in (await session.execute(stmt)).scalars()
    ]


async def _groups(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(Group.name, GroupMember.role, GroupMember.joined_at)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
        .order_by(Group.id)
    )
    return [
        {"name": name, "role": role, "joined_at": _iso(joined)}
        for name, role, joined in (await session.execute(stmt)).all()
    ]


async def _messages(session: AsyncSession, user_id: int, chats: list[Chat]) -> list[dict[str, Any]]:
    """Messages to the person still stored, as text; replies about duress are left out."""
    stmt = (
        select(Outbox).where(or_(Outbox.user_id == user_id, _in_chats(chats))).order_by(Outbox.id)
    )
    found = []
    for o in (await session.execute(stmt)).scalars():
        key = o.dedupe_key or ""
        if key.startswith((HIDDEN, STAND_IN)):
            continue
        text = json.loads(o.payload).get("text", "")
        if key.startswith(EXPORT):
            text = "(an earlier export of your data)"
        found.append(
            {"at": _iso(o.created_at), "status": o.status, "sent_at": _iso(o.sent_at), "text": text}
        )
    return found


def _in_chats(chats: Collection[Chat]) -> ColumnElement[bool]:
    if not chats:
        return false()
    return tuple_(Outbox.platform, Outbox.chat_id).in_(list(chats))


def export_key() -> str:
    """A dedupe key marking an outbox row as a data export."""
    return EXPORT + secrets.token_hex(8)


def hidden_key() -> str:
    """A dedupe key marking an outbox row as never to be exported (duress replies)."""
    return HIDDEN + secrets.token_hex(8)


# -- erase -----------------------------------------------------------------------------


async def linked_people(session: AsyncSession, user_id: int) -> list[int]:
    """Everyone with a trusted-contact link to or from this person."""
    stmt = select(Contact.defender_id, Contact.contact_id).where(
        or_(Contact.defender_id == user_id, Contact.contact_id == user_id)
    )
    people = {p for row in (await session.execute(stmt)).all() for p in row}
    people.discard(user_id)
    return sorted(people)


@dataclass(frozen=True)
class GroupFate:
    """What an erased person's leaving did to one of their groups, for the notices.

    `closed`: nobody was left to organise it, so it was closed (its alert chats
    unbound); `members` and `chats` are who to tell. `new_owner`: the owner left and
    the longest-serving organiser inherits it; `organisers` are the others to tell.
    """

    group_id: int
    name: str
    closed: bool = False
    new_owner: int | None = None
    members: tuple[int, ...] = ()
    chats: tuple[Address, ...] = ()
    organisers: tuple[int, ...] = ()


async def erase(
    session: AsyncSession, user_id: int, mentions: Iterable[str], now: datetime
) -> list[GroupFate]:
    """Delete every row about a person; `mentions` are the names messages called them by.

    Runs in the caller's transaction. Pending changes are flushed first, so the ORM
    never writes to a row deleted here. Returns what became of their groups: a group
    never stays behind with members and no organiser, or with its owner gone.
    """
    await session.flush()
    identities = (
        (await session.execute(select(Identity).where(Identity.user_id == user_id))).scalars().all()
    )
    chats = [(i.platform, i.chat_id) for i in identities]
    checkin_ids = select(Checkin.id).where(Checkin.user_id == user_id).scalar_subquery()
    alert_ids = select(Alert.id).where(Alert.checkin_id.in_(checkin_ids)).scalar_subquery()
    await _forget_mentions(session, user_id, chats, [m for m in set(mentions) if m])
    await wellbeing.erase(session, user_id)
    await _run(
        session,
        delete(Outbox).where(
            or_(Outbox.user_id == user_id, _in_chats(chats), Outbox.alert_id.in_(alert_ids))
        ),
        delete(ChatChoices).where(
            tuple_(ChatChoices.platform, ChatChoices.chat_id).in_(chats) if chats else false()
        ),
        # Handled update ids (on Signal they hold the sender's id) are sealed like every
        # platform id and purged after two days: nothing to match them by here.
        delete(AlertRecipient).where(
            or_(AlertRecipient.user_id == user_id, AlertRecipient.alert_id.in_(alert_ids))
        ),
        delete(Alert).where(Alert.checkin_id.in_(checkin_ids)),
        update(Checkin).where(Checkin.acked_by == user_id).values(acked_by=None, acked_at=None),
        delete(Checkin).where(Checkin.user_id == user_id),
        delete(Schedule).where(Schedule.user_id == user_id),
        delete(Contact).where(or_(Contact.defender_id == user_id, Contact.contact_id == user_id)),
        delete(Invite).where(or_(Invite.inviter_id == user_id, Invite.used_by == user_id)),
        delete(BadCodeAttempt).where(BadCodeAttempt.user_id == user_id),
        delete(CleanupItem).where(CleanupItem.user_id == user_id),
        delete(DeferredCommand).where(DeferredCommand.user_id == user_id),
    )
    fates = await _leave_groups(session, user_id, now)
    await _run(
        session,
        delete(Identity).where(Identity.user_id == user_id),
        delete(User).where(User.id == user_id),
    )
    for obj in [*identities, await session.get(User, user_id)]:
        if obj is not None and obj in session:
            session.expunge(obj)
    return fates


async def erase_except_alerts(
    session: AsyncSession, user_id: int, keep: Collection[int]
) -> list[int]:
    """`/forgetme` while an alert is open: erase at once all the alerts in `keep` do not need.

    Kept until `erase` runs (once those alerts are closed): the check-ins in `keep`
    with their alerts, recipients and messages; the person's name (the alerts say
    it); the links to the contacts who protect them and their group memberships
    (who acknowledges, who is repeated to, level 2). Everything else goes now:
    their platform identities (the phone starts afresh), schedules and every other
    check-in, the links where they protect others, invitations, well-being, the
    duress word, the PIN, the pause, the messages to them. Returns the people whose
    link with them ended now (they are told, without a name).
    """
    await session.flush()
    identities = (
        (await session.execute(select(Identity).where(Identity.user_id == user_id))).scalars().all()
    )
    chats = [(i.platform, i.chat_id) for i in identities]
    kept = list(keep)
    others = select(Checkin.id).where(Checkin.user_id == user_id, Checkin.id.not_in(kept))
    other_alerts = select(Alert.id).where(Alert.checkin_id.in_(others.scalar_subquery()))
    protected = sorted(
        set(
            (
                await session.execute(
                    select(Contact.defender_id).where(Contact.contact_id == user_id)
                )
            ).scalars()
        )
    )
    await wellbeing.erase(session, user_id)
    await _run(
        session,
        delete(Outbox).where(
            or_(
                Outbox.user_id == user_id,
                _in_chats(chats),
                Outbox.alert_id.in_(other_alerts.scalar_subquery()),
            )
        ),
        delete(ChatChoices).where(
            tuple_(ChatChoices.platform, ChatChoices.chat_id).in_(chats) if chats else false()
        ),
        delete(AlertRecipient).where(
            or_(
                AlertRecipient.user_id == user_id,
                AlertRecipient.alert_id.in_(other_alerts.scalar_subquery()),
            )
        ),
        delete(Alert).where(Alert.checkin_id.in_(others.scalar_subquery())),
        update(Checkin).where(Checkin.acked_by == user_id).values(acked_by=None, acked_at=None),
        update(Checkin).where(Checkin.id.in_(kept)).values(schedule_id=None),
        delete(Checkin).where(Checkin.user_id == user_id, Checkin.id.not_in(kept)),
        delete(Schedule).where(Schedule.user_id == user_id),
        delete(Contact).where(Contact.contact_id == user_id),
        delete(Invite).where(or_(Invite.inviter_id == user_id, Invite.used_by == user_id)),
        delete(BadCodeAttempt).where(BadCodeAttempt.user_id == user_id),
        delete(Identity).where(Identity.user_id == user_id),
        update(User).where(User.id == user_id).values(
            timezone=None, paused_until=None, pause_reason=None, pause_ends_at=None,
            duress_hash=None, pin_hash=None, forget_requested_at=None, last_ok_at=None,
        ),
    )  # fmt: skip
    for obj in [*identities, await session.get(User, user_id)]:
        if obj is not None and obj in session:
            session.expunge(obj)
    return protected


async def _run(session: AsyncSession, *statements: Any) -> None:
    for stmt in statements:
        await session.execute(stmt.execution_options(synchronize_session=False))


async def _leave_groups(session: AsyncSession, user_id: int, now: datetime) -> list[GroupFate]:
    """Drop memberships; hand over what the person owned; close what nobody can run."""
    stmt = (
        select(Group)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
    )
    groups = list((await session.execute(stmt)).scalars())
    fates = []
    for group in groups:
        heir = await group_store.successor(session, group.id, user_id)
        await group_store.remove_member(session, group.id, user_id)
        members = await group_store.member_ids(session, group.id)
        if not members or heir is None:
            chats = await group_store.alert_chats(session, group.id)
            fates.append(GroupFate(group.id, group.name, True, None, tuple(members), tuple(chats)))
            await _run(
                session,
                update(Checkin).where(Checkin.group_id == group.id).values(group_id=None),
            )
            await group_store.delete_group(session, group.id)
        elif group.owner_id == user_id:
            await group_store.set_owner(session, group.id, heir)
            await group_store.log_event(session, group.id, now, "owner_inherited", None, heir)
            others = tuple(u for u in await group_store.organiser_ids(session, group.id)
                           if u != heir)  # fmt: skip
            fates.append(GroupFate(group.id, group.name, new_owner=heir, organisers=others))
    return fates


async def _forget_mentions(
    session: AsyncSession, user_id: int, own: list[Chat], mentions: list[str]
) -> None:
    """Delete sent messages to the people around this person that named them.

    Only chats that could have heard of them are read (their contacts both ways,
    their groups' members and alert chats, whoever their alerts or acknowledgements
    reached); messages still waiting to go out are left to be delivered.
    """
    if not mentions:
        return
    neighbours = set(await _neighbour_chats(session, user_id)) - set(own)
    if not neighbours:
        return
    stmt = select(Outbox.id, Outbox.payload).where(
        _in_chats(neighbours), Outbox.status.in_(("sent", "failed"))
    )
    doomed = [
        row_id
        for row_id, payload in (await session.execute(stmt)).all()
        if any(m in json.loads(payload).get("text", "") for m in mentions)
    ]
    for start in range(0, len(doomed), 500):
        await _run(session, delete(Outbox).where(Outbox.id.in_(doomed[start : start + 500])))


async def _neighbour_chats(session: AsyncSession, user_id: int) -> list[Chat]:
    people = set(await linked_people(session, user_id))
    my_groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    members = select(GroupMember.user_id).where(GroupMember.group_id.in_(my_groups))
    people |= set((await session.execute(members)).scalars())
    chats = {
        (p, c)
        for p, c in (
            await session.execute(
                select(Identity.platform, Identity.chat_id).where(Identity.user_id.in_(people))
            )
        ).all()
    }
    group_chats = select(GroupAlertChat.platform, GroupAlertChat.chat_id).where(
        GroupAlertChat.group_id.in_(my_groups)
    )
    chats |= {(p, c) for p, c in (await session.execute(group_chats)).all()}
    involved = select(Checkin.id).where(
        or_(Checkin.user_id == user_id, Checkin.acked_by == user_id)
    )
    told = (
        select(AlertRecipient.platform, AlertRecipient.chat_id)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .where(Alert.checkin_id.in_(involved))
    )
    chats |= {(p, c) for p, c in (await session.execute(told)).all()}
    return sorted(chats)


# -- the farewell message --------------------------------------------------------------


async def queue_farewell(session: AsyncSession, out: Outgoing, now: datetime) -> None:
    """Queue the "erased" confirmation, linked to nobody; `purge_farewells` deletes it once sent."""
    await outbox.enqueue(session, out, now=now, dedupe_key=FAREWELL + secrets.token_hex(8))


async def purge_farewells(session: AsyncSession) -> int:
    """Delete farewell messages that were sent (or given up on): the last trace of a person.

    Farewells are linked to nobody (`user_id` NULL); their sealed dedupe key says which
    they are, so the few candidates are opened here rather than matched in SQL.
    """
    stmt = select(Outbox.id, Outbox.dedupe_key).where(
        Outbox.user_id.is_(None), Outbox.status.in_(("sent", "failed"))
    )
    ids = [i for i, key in (await session.execute(stmt)).all() if (key or "").startswith(FAREWELL)]
    if not ids:
        return 0
    return affected(await session.execute(delete(Outbox).where(Outbox.id.in_(ids))))
