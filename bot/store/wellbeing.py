"""Well-being rows: sealed answers, the defender's choices, buddies, group consent.

Scores and feelings are personal data: they live in `SecretText` columns (sealed
like notes, see `crypto.py`), so nothing is computed from them in SQL; callers get
plain `core.wellbeing.Entry` values and decide in core.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycle import Kind, State
from bot.core.wellbeing import Entry, Feeling
from bot.store.checkins import kind_of
from bot.store.db import affected
from bot.store.models import (
    Buddy,
    Checkin,
    Contact,
    Group,
    GroupMember,
    GroupWellbeingShare,
    GroupWellbeingSupport,
    Outbox,
    WellbeingEntry,
    WellbeingPrefs,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


#: What is stored for a tap given right after a duress answer: the question is answered
#: as usual (so it is not asked again, and every reply is the same), but the value is
#: not kept. Sealed, these look like any answer: a score of one character, a feeling of
#: the tapped one's length. They are never read as well-being.
NOT_KEPT_SCORE = "0"
NOT_KEPT_MARK = "~"


def _entry(row: WellbeingEntry) -> Entry:
    score = int(row.score) if row.score and row.score != NOT_KEPT_SCORE else None
    feeling = None
    if row.feeling and row.feeling.strip(NOT_KEPT_MARK):
        feeling = Feeling(row.feeling)
    return Entry(row.at, score, feeling)


def _kept(entry: Entry) -> bool:
    return entry.score is not None or entry.feeling is not None


# -- answers -----------------------------------------------------------------------


async def answer_for(session: AsyncSession, checkin_id: int) -> WellbeingEntry | None:
    """The well-being answer given for one check-in, if any."""
    stmt = select(WellbeingEntry).where(WellbeingEntry.checkin_id == checkin_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def record(
    session: AsyncSession,
    *,
    user_id: int,
    checkin_id: int,
    at: datetime,
    score: int | None = None,
    feeling: Feeling | None = None,
    keep: bool = True,
) -> WellbeingEntry:
    """Add the score or feeling to a check-in's answer (one answer per check-in).

    `keep=False` (a tap right after a duress answer): the answer is marked as given,
    its value is not stored (`NOT_KEPT_SCORE`, `NOT_KEPT_MARK`).
    """
    row = await answer_for(session, checkin_id)
    if row is None:
        row = WellbeingEntry(user_id=user_id, checkin_id=checkin_id, at=at)
        session.add(row)
    if score is not None:
        row.score = str(score) if keep else NOT_KEPT_SCORE
    if feeling is not None:
        row.feeling = feeling.value if keep else NOT_KEPT_MARK * len(feeling.value)
    await session.flush()
    return row


async def history(session: AsyncSession, user_id: int, since: datetime) -> list[Entry]:
    """A person's answers since `since`, oldest first."""
    stmt = (
        select(WellbeingEntry)
        .where(WellbeingEntry.user_id == user_id, WellbeingEntry.at >= since)
        .order_by(WellbeingEntry.at, WellbeingEntry.id)
    )
    return [e for e in map(_entry, (await session.execute(stmt)).scalars()) if _kept(e)]


async def export(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Everything well-being stores about a person, for `/mydata`."""
    prefs = await session.get(WellbeingPrefs, user_id)
    buddy = await buddy_of(session, user_id)
    return {
        "answers": [
            {"at": e.at.isoformat(), "score": e.score, "feeling": e.feeling}
            for e in await history(session, user_id, EPOCH)
        ],
        "weekly_day": prefs.weekly_day if prefs else None,
        "keep_one_year": bool(prefs and prefs.keep_long),
        "last_gentle_word_at": prefs.nudged_at.isoformat() if prefs and prefs.nudged_at else None,
        "buddy_link": buddy.link_id if buddy else None,
        "groups_shared_with": list(
            (
                await session.execute(
                    select(GroupWellbeingShare.group_id).where(
                        GroupWellbeingShare.user_id == user_id
                    )
                )
            ).scalars()
        ),
    }


async def erase(session: AsyncSession, user_id: int) -> None:
    """Delete every well-being row about a person (`/forgetme`)."""
    mine = select(Contact.id).where(
        or_(Contact.defender_id == user_id, Contact.contact_id == user_id)
    )
    for stmt in (
        delete(WellbeingEntry).where(WellbeingEntry.user_id == user_id),
        delete(WellbeingPrefs).where(WellbeingPrefs.user_id == user_id),
        delete(Buddy).where(or_(Buddy.defender_id == user_id, Buddy.link_id.in_(mine))),
        delete(GroupWellbeingShare).where(GroupWellbeingShare.user_id == user_id),
    ):
        await session.execute(stmt.execution_options(synchronize_session=False))


async def purge(session: AsyncSession, before: datetime, long_before: datetime) -> int:
    """Delete answers past retention: `before` for most, `long_before` for who chose 1 year."""
    keeps = select(WellbeingPrefs.user_id).where(WellbeingPrefs.keep_long.is_(True))
    stmt = delete(WellbeingEntry).where(
        or_(
            and_(WellbeingEntry.at < before, WellbeingEntry.user_id.not_in(keeps)),
            WellbeingEntry.at < long_before,
        )
    )
    return affected(await session.execute(stmt))


# -- the defender's choices ------------------------------------------------------------


async def prefs(session: AsyncSession, user_id: int) -> WellbeingPrefs:
    """A person's well-being choices (created with the defaults on first use)."""
    found = await session.get(WellbeingPrefs, user_id)
    if found is None:
        found = WellbeingPrefs(user_id=user_id, keep_long=False)
        session.add(found)
        await session.flush()
    return found


async def claim_weekly(session: AsyncSession, now: datetime, limit: int = 100) -> list[int]:
    """People whose weekly word is due; each is moved past `now` by the caller."""
    stmt = (
        select(WellbeingPrefs.user_id)
        .where(WellbeingPrefs.weekly_next_at <= now)
        .order_by(WellbeingPrefs.weekly_next_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


# -- buddies ---------------------------------------------------------------------------


async def buddy_of(session: AsyncSession, defender_id: int) -> Buddy | None:
    """The defender's buddy row (accepted or still asked)."""
    stmt = select(Buddy).where(Buddy.defender_id == defender_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def accepted_buddy(session: AsyncSession, defender_id: int) -> int | None:
    """The user id of the defender's buddy, once they accepted."""
    stmt = (
        select(Contact.contact_id)
        .join(Buddy, Buddy.link_id == Contact.id)
        .where(Buddy.defender_id == defender_id, Buddy.accepted_at.is_not(None))
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def ask_buddy(session: AsyncSession, defender_id: int, link_id: int, now: datetime) -> Buddy:
    """Name a contact as buddy (replacing any earlier one); they still have to accept."""
    await end_buddy(session, defender_id)
    row = Buddy(defender_id=defender_id, link_id=link_id, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def buddy_request(session: AsyncSession, link_id: int, contact_id: int) -> Buddy | None:
    """The buddy row behind a link on which `contact_id` is the contact."""
    stmt = (
        select(Buddy)
        .join(Contact, Contact.id == Buddy.link_id)
        .where(Buddy.link_id == link_id, Contact.contact_id == contact_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def end_buddy(session: AsyncSession, defender_id: int) -> bool:
    """End the defender's buddy role, whoever holds it."""
    stmt = delete(Buddy).where(Buddy.defender_id == defender_id)
    return bool(affected(await session.execute(stmt)))


# -- groups ----------------------------------------------------------------------------


async def set_share(
    session: AsyncSession, group_id: int, user_id: int, on: bool, now: datetime
) -> None:
    """Opt in or out of one group's anonymous weekly view."""
    await session.execute(
        delete(GroupWellbeingShare).where(
            GroupWellbeingShare.group_id == group_id, GroupWellbeingShare.user_id == user_id
        )
    )
    if on:
        session.add(GroupWellbeingShare(group_id=group_id, user_id=user_id, since=now))
        await session.flush()


async def shares(session: AsyncSession, group_id: int, user_id: int) -> bool:
    """True if this member opted in for this group."""
    stmt = select(func.count()).where(
        GroupWellbeingShare.group_id == group_id, GroupWellbeingShare.user_id == user_id
    )
    return bool((await session.execute(stmt)).scalar_one())


async def group_week(
    session: AsyncSession, group_id: int, since: datetime, until: datetime
) -> dict[int, list[Entry]]:
    """Opted-in current members' answers in [since, until], by member (never shown as such)."""
    members = (
        select(GroupWellbeingShare.user_id)
        .join(
            GroupMember,
            and_(
                GroupMember.group_id == GroupWellbeingShare.group_id,
                GroupMember.user_id == GroupWellbeingShare.user_id,
            ),
        )
        .where(GroupWellbeingShare.group_id == group_id)
    )
    stmt = select(WellbeingEntry).where(
        WellbeingEntry.user_id.in_(members),
        WellbeingEntry.at >= since,
        WellbeingEntry.at <= until,
    )  # an answer given under duress is never kept, so never counted
    found: dict[int, list[Entry]] = {}
    for row in (await session.execute(stmt)).scalars():
        if _kept(entry := _entry(row)):
            found.setdefault(row.user_id, []).append(entry)
    return found


async def set_weekly(
    session: AsyncSession, user_id: int, day: int | None, next_at: datetime | None
) -> None:
    """Turn the weekly word on (for a weekday, next due `next_at`) or off."""
    row = await prefs(session, user_id)
    row.weekly_day, row.weekly_next_at = day, next_at


async def move_weekly(session: AsyncSession, user_id: int, next_at: datetime) -> None:
    """Move one person's weekly word to its next date."""
    await session.execute(
        update(WellbeingPrefs)
        .where(WellbeingPrefs.user_id == user_id)
        .values(weekly_next_at=next_at)
    )


def since_days(now: datetime, count: int) -> datetime:
    """The start of a `count`-day window ending now (with a day's slack for time zones)."""
    return now - timedelta(days=count + 1)


# -- what the check-ins say about asking -------------------------------------------------


async def duress_since(session: AsyncSession, user_id: int, since: datetime) -> bool:
    """True if a duress alert was raised at or after `since` (taps then are not kept)."""
    stmt = select(Checkin.kind, Checkin.variant).where(
        Checkin.user_id == user_id,
        Checkin.kind.in_((Kind.SOS.value, Kind.DURESS.value)),  # duress is a sealed SOS
        Checkin.created_at >= since,
    )
    rows = (await session.execute(stmt)).all()
    return any(kind_of(r) == Kind.DURESS for r in rows)


async def sos_around(session: AsyncSession, user_id: int, answered_at: datetime) -> bool:
    """True if an SOS is open, or was closed by the answer made at `answered_at`."""
    closed = (State.OK.value, State.RESOLVED.value, State.CANCELLED.value)
    stmt = select(Checkin.kind, Checkin.variant).where(
        Checkin.user_id == user_id,
        Checkin.kind == Kind.SOS.value,
        or_(Checkin.state.not_in(closed), Checkin.answered_at == answered_at),
    )
    rows = (await session.execute(stmt)).all()
    return any(kind_of(r) == Kind.SOS for r in rows)  # a duress alert is not an SOS here


async def purge_pictures(session: AsyncSession, prefix: str, since: datetime) -> int:
    """Delete picture messages sent (or given up on) since `since`: their PNG is not kept.

    Dedupe keys are sealed (`SealedId`), so the candidates (recent, finished, with a
    key) are opened here rather than matched in SQL; older ones go with retention.
    """
    stmt = select(Outbox.id, Outbox.dedupe_key).where(
        Outbox.status.in_(("sent", "failed")),
        Outbox.dedupe_key.is_not(None),
        Outbox.created_at >= since,
    )
    ids = [i for i, key in (await session.execute(stmt)).all() if (key or "").startswith(prefix)]
    if not ids:
        return 0
    return affected(await session.execute(delete(Outbox).where(Outbox.id.in_(ids))))


async def set_support(
    session: AsyncSession, group_id: int, text: str | None, now: datetime
) -> None:
    """Set (or, with None, remove) a group's own support contact."""
    await session.execute(
        delete(GroupWellbeingSupport).where(GroupWellbeingSupport.group_id == group_id)
    )
    if text:
        session.add(GroupWellbeingSupport(group_id=group_id, text=text, set_at=now))
        await session.flush()


async def supports_for(session: AsyncSession, user_id: int) -> list[tuple[str, str]]:
    """(group name, support contact) of every group this person is a member of."""
    stmt = (
        select(Group.name, GroupWellbeingSupport.text)
        .join(GroupWellbeingSupport, GroupWellbeingSupport.group_id == Group.id)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
        .order_by(Group.id)
    )
    return [(name, text) for name, text in (await session.execute(stmt)).all()]
