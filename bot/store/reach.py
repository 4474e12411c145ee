"""Reachability of trusted contacts: who to ask again, who went stale, the counts.

The rule of when a link is asked again or goes stale lives here, in SQL, once:
- a link confirmed at least `every` ago and not being asked is asked now;
- a link asked at least `answer_within` ago without an answer goes stale.
A contact confirms by answering (or by accepting the invite, see `contacts.link`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Contact

BATCH = 500


@dataclass(frozen=True)
class Counts:
    """A defender's contacts by state (numbers only: never names).

    `confirmed` includes links being asked again: they answered within the last
    `recheck_contacts` plus the answer time.
    """

    confirmed: int = 0
    stale: int = 0


async def claim_rechecks(
    session: AsyncSession, now: datetime, every: timedelta
) -> Sequence[Any]:
    """Mark the links due to be asked again as asked now; return (id, defender, contact)."""
    due = (
        select(Contact.id)
        .where(
            Contact.stale_at.is_(None),
            Contact.recheck_sent_at.is_(None),
            Contact.confirmed_at <= now - every,
        )
        .limit(BATCH)
        .scalar_subquery()
    )
    stmt = (
        update(Contact)
        .where(Contact.id.in_(due), Contact.recheck_sent_at.is_(None))
        .values(recheck_sent_at=now)
        .returning(Contact.id, Contact.defender_id, Contact.contact_id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).all()


async def mark_stale(
    session: AsyncSession, now: datetime, answer_within: timedelta
) -> Sequence[Any]:
    """Mark links whose re-check went unanswered as stale; return (id, defender)."""
    stmt = (
        update(Contact)
        .where(
            Contact.stale_at.is_(None),
            Contact.recheck_sent_at.is_not(None),
            Contact.recheck_sent_at <= now - answer_within,
        )
        .values(stale_at=now)
        .returning(Contact.id, Contact.defender_id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).all()


async def confirm(session: AsyncSession, link_id: int, contact_id: int, now: datetime) -> bool:
    """The contact answered "yes" for this link: confirmed again, no longer asked or stale."""
    stmt = (
        update(Contact)
        .where(Contact.id == link_id, Contact.contact_id == contact_id)
        .values(confirmed_at=now, recheck_sent_at=None, stale_at=None)
        .execution_options(synchronize_session=False)
    )
    result: CursorResult[Any] = await session.execute(stmt)  # type: ignore[assignment]
    return bool(result.rowcount)


async def counts(session: AsyncSession, defender_id: int) -> Counts:
    """How many of a defender's contacts are confirmed or stale."""
    state = select(
        func.count().filter(Contact.stale_at.is_(None)),
        func.count().filter(Contact.stale_at.is_not(None)),
    ).where(Contact.defender_id == defender_id)
    confirmed, stale = (await session.execute(state)).one()
    return Counts(confirmed=int(confirmed), stale=int(stale))
