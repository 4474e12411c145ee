"""Invites, trusted-contact links, and the guard against guessing invite codes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.codes import make_code, normalize_code
from bot.store.db import affected
from bot.store.models import BadCodeAttempt, Contact, Invite, User


def hash_code(code: str) -> str:
    """Only this hash is stored; a copy of the database gives no usable codes.

    Readable codes are hashed in their normal form, so case, spaces and dashes typed
    back do not matter (Telegram deep-link payloads allow the dashes).
    """
    return hashlib.sha256(normalize_code(code).encode("utf-8")).hexdigest()


async def create_invite(
    session: AsyncSession,
    *,
    kind: str,
    inviter_id: int,
    now: datetime,
    ttl: timedelta,
    label: str | None = None,
    group_id: int | None = None,
) -> str:
    """Create a single-use invite and return its code (shown once, never stored)."""
    code = make_code(secrets.randbelow)
    session.add(
        Invite(
            code_hash=hash_code(code), kind=kind, inviter_id=inviter_id, group_id=group_id,
            label=label, status="pending", created_at=now, expires_at=now + ttl,
        )
    )  # fmt: skip
    await session.flush()
    return code


async def find_pending_invite(session: AsyncSession, code: str, now: datetime) -> Invite | None:
    """A pending, unexpired invite with this code; expired ones are marked on the way."""
    invite = (
        await session.execute(select(Invite).where(Invite.code_hash == hash_code(code)))
    ).scalar_one_or_none()
    if invite is None or invite.status != "pending":
        return None
    if invite.expires_at <= now:
        invite.status = "expired"
        return None
    return invite


async def close_invite(
    session: AsyncSession, invite_id: int, status: str, user_id: int, now: datetime
) -> bool:
    """Accept or decline in one conditional statement: a code is used at most once.

    Only the first of two people racing for one code finds it pending; on PostgreSQL
    the second waits for the first's row lock and then finds nothing to update. A
    decline keeps no record of who declined, and `expires_at` becomes the time the
    invite ended, so `purge_ended_invites` removes it a day later.
    """
    stmt = (
        update(Invite)
        .where(Invite.id == invite_id, Invite.status == "pending", Invite.expires_at > now)
        .values(status=status, used_by=user_id if status == "accepted" else None, expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(affected(await session.execute(stmt)))


#: Ended invites (used, declined, revoked, expired) are kept this long, then deleted.
ENDED_INVITE_KEEP = timedelta(hours=24)


async def purge_ended_invites(session: AsyncSession, now: datetime) -> int:
    """Delete invites that ended more than a day ago: nothing records who declined what."""
    stmt = delete(Invite).where(Invite.expires_at < now - ENDED_INVITE_KEEP)
    return affected(await session.execute(stmt))


async def link(
    session: AsyncSession, defender_id: int, contact_id: int, label: str | None, now: datetime
) -> bool:
    """Make `contact_id` a trusted contact of `defender_id`; False if already linked."""
    exists = await session.execute(
        select(Contact.id).where(
            Contact.defender_id == defender_id, Contact.contact_id == contact_id
        )
    )
    if exists.first() is not None:
        return False
    session.add(
        Contact(
            defender_id=defender_id,
            contact_id=contact_id,
            label=label,
            created_at=now,
            confirmed_at=now,  # accepting the invite is an answer to the bot
        )
    )
    await session.flush()
    return True


async def contacts_of(session: AsyncSession, defender_id: int) -> list[tuple[Contact, User]]:
    """Accepted trusted contacts of a defender, oldest first."""
    stmt = (
        select(Contact, User)
        .join(User, User.id == Contact.contact_id)
        .where(Contact.defender_id == defender_id)
        .order_by(Contact.id)
    )
    return [(c, u) for c, u in (await session.execute(stmt)).all()]


async def defenders_of(session: AsyncSession, contact_id: int) -> list[tuple[Contact, User]]:
    """The defenders this person is a trusted contact for."""
    stmt = (
        select(Contact, User)
        .join(User, User.id == Contact.defender_id)
        .where(Contact.contact_id == contact_id)
        .order_by(Contact.id)
    )
    return [(c, u) for c, u in (await session.execute(stmt)).all()]


async def contact_ids(session: AsyncSession, defender_id: int) -> list[int]:
    """User ids of a defender's accepted contacts."""
    return (await contact_ids_many(session, [defender_id])).get(defender_id, [])


async def contact_ids_many(
    session: AsyncSession, defender_ids: Iterable[int]
) -> dict[int, list[int]]:
    """Accepted contacts of several defenders in one query (a burst of alerts)."""
    ids = list(set(defender_ids))
    if not ids:
        return {}
    stmt = (
        select(Contact.defender_id, Contact.contact_id)
        .where(Contact.defender_id.in_(ids))
        .order_by(Contact.id)
    )
    found: dict[int, list[int]] = {}
    for defender, contact in (await session.execute(stmt)).all():
        found.setdefault(defender, []).append(contact)
    return found


async def unlink(session: AsyncSession, link_id: int, user_id: int) -> Contact | None:
    """End a link from either side; None if it is not this person's link."""
    contact = await session.get(Contact, link_id)
    if contact is None or user_id not in (contact.defender_id, contact.contact_id):
        return None
    await session.delete(contact)
    await session.flush()
    return contact


async def pending_invites(session: AsyncSession, inviter_id: int, now: datetime) -> int:
    """How many of a person's contact invites still wait for an answer."""
    stmt = select(func.count()).where(
        Invite.inviter_id == inviter_id,
        Invite.kind == "contact",
        Invite.status == "pending",
        Invite.expires_at > now,
    )
    return int((await session.execute(stmt)).scalar_one())


async def bad_attempts(
    session: AsyncSession, user_id: int, since: datetime, kind: str = "code"
) -> int:
    """Wrong codes (or PINs, `kind="pin"`) this person typed since `since`."""
    stmt = select(func.count()).where(
        BadCodeAttempt.user_id == user_id, BadCodeAttempt.kind == kind, BadCodeAttempt.at >= since
    )
    return int((await session.execute(stmt)).scalar_one())


async def record_bad_attempt(
    session: AsyncSession, user_id: int, now: datetime, kind: str = "code"
) -> None:
    """Remember a wrong code or PIN (and forget this person's attempts older than a day)."""
    session.add(BadCodeAttempt(user_id=user_id, at=now, kind=kind))
    await session.execute(
        delete(BadCodeAttempt).where(
            BadCodeAttempt.user_id == user_id, BadCodeAttempt.at < now - timedelta(days=1)
        )
    )
