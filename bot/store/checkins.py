"""Schedules, check-ins, answers and alerts: every transition a conditional update.

Each write that moves a check-in names the state it expects to move it from, so a
defender's answer and the scheduler's escalation racing at the deadline cannot both
win: whichever commits second finds the row changed and does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.escalation import Case
from bot.core.lifecycle import OPEN_STATES, Kind, State
from bot.store.db import affected
from bot.store.models import Alert, AlertRecipient, Checkin, Identity, Schedule
from bot.store.outbox import dialect_insert

_OPEN = tuple(s.value for s in OPEN_STATES)
#: `checkins.variant` of an SOS (sealed): raised by a duress word, or not. One length.
SILENT, LOUD = "1", "0"


def stored_kind(kind: Kind) -> dict[str, Any]:
    """The columns a check-in of `kind` is stored as: a duress alert is a sealed SOS."""
    if kind == Kind.DURESS:
        return {"kind": Kind.SOS.value, "variant": SILENT}
    if kind == Kind.SOS:
        return {"kind": Kind.SOS.value, "variant": LOUD}
    return {"kind": kind.value}


def kind_of(row: Any) -> Kind:
    """A stored check-in's kind, the sealed variant of an SOS read (needs the key).

    Rows of kind 'duress' written before the variant was sealed read as duress too.
    """
    kind = Kind(row.kind)
    if kind == Kind.SOS and getattr(row, "variant", None) == SILENT:
        return Kind.DURESS
    return kind


#: What happened to one recipient of an alert (`alert_recipients.status`).
QUEUED, REACHED, UNREACHABLE, LEFT = "queued", "reached", "unreachable", "left"
#: a silent alert not posted to a chat the defender may be in (never told anything more)
WITHHELD = "withheld"
#: `silent_chat_guards`' defender id for a person whose identities are gone
UNKNOWN_PERSON = "?"


# -- schedules ---------------------------------------------------------------------


async def add_schedule(
    session: AsyncSession,
    *,
    user_id: int,
    spec: str,
    next_due_at: datetime,
    now: datetime,
    group_id: int | None = None,
) -> Schedule:
    """Store a recurring check-in with its first due time."""
    schedule = Schedule(
        user_id=user_id, group_id=group_id, spec=spec, anchor_at=now,
        next_due_at=next_due_at, created_at=now,
    )  # fmt: skip
    session.add(schedule)
    await session.flush()
    return schedule


async def schedules_of(session: AsyncSession, user_id: int) -> Sequence[Schedule]:
    """A defender's schedules, soonest first."""
    stmt = select(Schedule).where(Schedule.user_id == user_id).order_by(Schedule.next_due_at)
    return (await session.execute(stmt)).scalars().all()


async def remove_schedule(session: AsyncSession, user_id: int, schedule_id: int) -> bool:
    """Delete one of the defender's own (non-group) schedules."""
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None or schedule.user_id != user_id or schedule.group_id is not None:
        return False
    await session.delete(schedule)
    await session.flush()
    return True


async def group_of_schedule(session: AsyncSession, user_id: int, schedule_id: int) -> int | None:
    """The group a schedule of this person comes from; None if it is theirs or not found."""
    schedule = await session.get(Schedule, schedule_id)
    return schedule.group_id if schedule is not None and schedule.user_id == user_id else None


async def advance_schedules(
    session: AsyncSession, worker: str, moves: Sequence[tuple[int, datetime, datetime]]
) -> None:
    """Move many claimed schedules on at once: `(id, expected due, next due)` each.

    One executemany of a conditional update (id and expected due time). The rows
    were claimed in this transaction (locked on PostgreSQL, the write lock held on
    SQLite), so nobody else can have moved them; the condition is kept as a guard.
    """
    if not moves:
        return
    table = cast(Table, Schedule.__table__)
    stmt = (
        table.update()
        .where(
            table.c.id == bindparam("b_id"),
            table.c.next_due_at == bindparam("b_expected"),
            table.c.claimed_by == worker,
        )
        .values(next_due_at=bindparam("b_next"), claimed_by=None, lease_until=None)
    )
    params = [{"b_id": i, "b_expected": old, "b_next": new} for i, old, new in moves]
    await session.execute(stmt, params)


# -- check-ins ---------------------------------------------------------------------


async def create_scheduled(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[int, int]:
    """Insert occurrences of several schedules with one executemany; returns {schedule_id: id}.

    `UNIQUE(schedule_id, due_at)` with ON CONFLICT DO NOTHING: an occurrence that
    exists already is skipped and missing from the result, as in `create_checkin`.
    Every row needs a `schedule_id` (at most one row per schedule).
    """
    if not rows:
        return {}
    table = cast(Table, Checkin.__table__)
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
        .returning(table.c.schedule_id, table.c.id)
    )
    found: Sequence[Any] = (await session.execute(stmt, list(rows))).all()
    return {sid: cid for sid, cid in found}


async def create_checkin(session: AsyncSession, **values: Any) -> int | None:
    """Insert an occurrence; None if (schedule_id, due_at) already exists."""
    stmt = dialect_insert(session, Checkin).values(**values)
    if values.get("schedule_id") is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
    result = await session.execute(stmt.returning(Checkin.id))
    return result.scalar_one_or_none()


async def open_checkins(session: AsyncSession, user_id: int) -> Sequence[Checkin]:
    """A defender's check-ins that still wait for an answer, oldest first."""
    stmt = (
        select(Checkin)
        .where(Checkin.user_id == user_id, Checkin.state.in_(_OPEN))
        .order_by(Checkin.due_at)
    )
    return (await session.execute(stmt)).scalars().all()


#: The columns an escalation plan changes (`bot.core.escalation.Case`).
CASE_COLUMNS = (
    "state", "level", "next_action_at", "acked_by", "acked_at",
    "level2_at", "repeats_sent", "alerted_at", "phone_ok_at", "last_acked_at",
)  # fmt: skip


def case_values(c: Case) -> dict[str, Any]:
    """A case as column values."""
    return {
        "state": c.state.value, "level": c.level, "next_action_at": c.next_action_at,
        "acked_by": c.acked_by, "acked_at": c.acked_at, "level2_at": c.level2_at,
        "repeats_sent": c.repeats_sent, "alerted_at": c.alerted_at, "phone_ok_at": c.phone_ok_at,
        "last_acked_at": c.last_acked_at,
    }  # fmt: skip


async def apply_plan(
    session: AsyncSession, row_id: int, before: Case, after: Case, **extra: Any
) -> bool:
    """Write a decided case if the row is still as the decision saw it.

    The guard (state, next action time, who acknowledged) is what makes two events
    racing for one check-in (an answer and a tick, two acknowledgements, two
    claimers) end in exactly one outcome: the loser's update matches no row.
    """
    stmt = (
        update(Checkin)
        .where(
            Checkin.id == row_id,
            Checkin.state == before.state.value,
            _same(Checkin.next_action_at, before.next_action_at),
            _same(Checkin.acked_by, before.acked_by),
        )
        .values(**case_values(after), claimed_by=None, lease_until=None, **extra)
        .execution_options(synchronize_session=False)
    )
    return bool(affected(await session.execute(stmt)))


async def apply_plans(session: AsyncSession, plans: Sequence[tuple[int, Case, Case]]) -> None:
    """Write many decided cases with one executemany (a burst of reminders).

    The rows were claimed in this transaction (locked on PostgreSQL, the write lock
    held on SQLite), so nobody else can have moved them; the condition stays as a
    guard. Only rows that had a next action time (claimed rows) are batched here.
    """
    if not plans:
        return
    table = cast(Table, Checkin.__table__)
    values: dict[str, Any] = {name: bindparam(f"b_{name}") for name in CASE_COLUMNS}
    stmt = (
        table.update()
        .where(
            table.c.id == bindparam("b_id"),
            table.c.state == bindparam("b_expect_state"),
            table.c.next_action_at == bindparam("b_expect_at"),
        )
        .values(**values, claimed_by=None, lease_until=None)
    )
    params = [
        {
            "b_id": row_id,
            "b_expect_state": before.state.value,
            "b_expect_at": before.next_action_at,
            **{f"b_{k}": v for k, v in case_values(after).items()},
        }  # fmt: skip
        for row_id, before, after in plans
    ]
    await session.execute(stmt, params)


async def checkins_for_update(session: AsyncSession, ids: Sequence[int]) -> Sequence[Checkin]:
    """Several check-ins, locked until the transaction ends (PostgreSQL)."""
    if not ids:
        return []
    stmt = select(Checkin).where(Checkin.id.in_(ids)).order_by(Checkin.id).with_for_update()
    return (await session.execute(stmt)).scalars().all()


async def record_delivery(session: AsyncSession, plans: Sequence[tuple[int, Case, Case]]) -> int:
    """Write when a prompt reached the defender and the answer clock it starts.

    Conditional on the state and next action time the decision saw; returns rows moved.
    """
    moved = 0
    for row_id, before, after in plans:
        stmt = (
            update(Checkin)
            .where(
                Checkin.id == row_id,
                Checkin.state == before.state.value,
                _same(Checkin.next_action_at, before.next_action_at),
            )
            .values(
                next_action_at=after.next_action_at,
                deadline_at=after.deadline or before.deadline,
                prompted_at=after.prompted_at,
            )
            .execution_options(synchronize_session=False)
        )
        moved += affected(await session.execute(stmt))
    return moved


async def platform_of(session: AsyncSession, checkin_id: int) -> str:
    """The platform a check-in's defender is reached on (their last used one), or "?"."""
    stmt = (
        select(Identity.platform)
        .join(Checkin, Checkin.user_id == Identity.user_id)
        .where(Checkin.id == checkin_id)
        .order_by(Identity.last_seen_at.desc(), Identity.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none() or "?"


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


async def open_for_update(
    session: AsyncSession, user_id: int, kinds: Sequence[str] | None = None
) -> Sequence[Checkin]:
    """A defender's open check-ins, locked until the transaction ends (PostgreSQL).

    An answer reads and writes these rows in one transaction; the lock makes a
    tick that claimed one of them finish first, so the answer sees its result.
    """
    stmt = select(Checkin).where(Checkin.user_id == user_id, Checkin.state.in_(_OPEN))
    if kinds is not None:
        stmt = stmt.where(Checkin.kind.in_(kinds))
    stmt = stmt.order_by(Checkin.due_at).with_for_update()
    return (await session.execute(stmt)).scalars().all()


async def checkin_for_update(session: AsyncSession, checkin_id: int) -> Checkin | None:
    """One check-in, locked until the transaction ends (PostgreSQL)."""
    stmt = select(Checkin).where(Checkin.id == checkin_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def record_answer(
    session: AsyncSession,
    checkin_ids: Sequence[int],
    now: datetime,
    *,
    score: int | None,
    note: str | None,
) -> None:
    """Store the answer itself (time, score, note) on the check-ins it answered."""
    if not checkin_ids:
        return
    await session.execute(
        update(Checkin)
        .where(Checkin.id.in_(checkin_ids))
        .values(answered_at=now, score=score, note=note)
        .execution_options(synchronize_session=False)
    )


async def cancel_open(
    session: AsyncSession, user_id: int, *, kinds: Sequence[str], states: Sequence[str] = _OPEN
) -> int:
    """Cancel open check-ins of some kinds (a cancelled timer, a pause)."""
    stmt = (
        update(Checkin)
        .where(Checkin.user_id == user_id, Checkin.kind.in_(kinds), Checkin.state.in_(states))
        .values(state=State.CANCELLED.value, next_action_at=None, claimed_by=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return affected(await session.execute(stmt))


async def last_answer(session: AsyncSession, user_id: int) -> Checkin | None:
    """The defender's most recent answered check-in."""
    stmt = (
        select(Checkin)
        .where(Checkin.user_id == user_id, Checkin.answered_at.is_not(None))
        .order_by(Checkin.answered_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


# -- alerts ------------------------------------------------------------------------


async def create_alerts(
    session: AsyncSession, levels: Sequence[tuple[int, int]], now: datetime
) -> dict[tuple[int, int], int]:
    """Record several `(checkin_id, level)` alerts; returns ids of those newly raised.

    Levels raised before (UNIQUE(checkin_id, level)) are skipped and absent.
    """
    if not levels:
        return {}
    table = cast(Table, Alert.__table__)
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["checkin_id", "level"])
        .returning(table.c.id, table.c.checkin_id, table.c.level)
    )
    params = [{"checkin_id": c, "level": lvl, "created_at": now} for c, lvl in levels]
    rows = (await session.execute(stmt, params)).all()
    return {(r.checkin_id, r.level): r.id for r in rows}


async def add_recipients(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record recipients (`alert_id, platform, chat_id, user_id`) with one executemany."""
    if not rows:
        return
    stmt = dialect_insert(session, AlertRecipient.__table__).on_conflict_do_nothing(
        index_elements=["alert_id", "platform", "chat_id"]
    )
    await session.execute(stmt, list(rows))


async def recipients_of(session: AsyncSession, checkin_id: int) -> Sequence[Any]:
    """Everyone still in this check-in's alerts: (platform, chat_id, user_id).

    Recipients who left (link or role ended) and those who cannot be reached are
    not told anything more.
    """
    stmt = (
        select(AlertRecipient.platform, AlertRecipient.chat_id, AlertRecipient.user_id)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .where(Alert.checkin_id == checkin_id, AlertRecipient.status.in_((QUEUED, REACHED)))
        .distinct()
    )
    return (await session.execute(stmt)).all()


async def resolve_alerts(session: AsyncSession, checkin_id: int, now: datetime) -> None:
    """Mark every alert of a check-in resolved."""
    await session.execute(
        update(Alert)
        .where(Alert.checkin_id == checkin_id, Alert.resolved_at.is_(None))
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )


async def alert_for(session: AsyncSession, user_id: int, checkin_id: int | None) -> Checkin | None:
    """The open alert this person may act on (newest if not named).

    Only a recipient who has not left the alert (link or role ended) may act on it.
    """
    stmt = (
        select(Checkin)
        .join(Alert, Alert.checkin_id == Checkin.id)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(
            AlertRecipient.user_id == user_id,
            AlertRecipient.status != LEFT,
            Checkin.state == State.MISSED.value,
        )
        .order_by(Checkin.id.desc())
        .limit(1)
    )
    if checkin_id is not None:
        stmt = stmt.where(Checkin.id == checkin_id)
    return (await session.execute(stmt)).scalars().first()


async def recipient_levels(session: AsyncSession, checkin_id: int) -> Sequence[Any]:
    """Every recipient of a check-in's alerts with its level and status."""
    stmt = (
        select(
            Alert.level, AlertRecipient.platform, AlertRecipient.chat_id,
            AlertRecipient.user_id, AlertRecipient.status,
        )
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .where(Alert.checkin_id == checkin_id)
    )  # fmt: skip
    return (await session.execute(stmt)).all()


async def set_recipient_status(
    session: AsyncSession, alert_id: int, platform: str, chat_id: str, status: str
) -> int | None:
    """Record a send's outcome for one recipient; returns the check-in id (None: unknown).

    A recipient who left stays left whatever a late send says.
    """
    stmt = (
        update(AlertRecipient)
        .where(
            AlertRecipient.alert_id == alert_id,
            AlertRecipient.platform == platform,
            AlertRecipient.chat_id == chat_id,
            AlertRecipient.status != LEFT,
        )
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)
    found = await session.execute(select(Alert.checkin_id).where(Alert.id == alert_id))
    return found.scalar_one_or_none()


async def mark_reached(
    session: AsyncSession, alert_ids_chats: Sequence[tuple[int, str, str]]
) -> None:
    """Record successful alert sends with one executemany (the delivery hot path)."""
    if not alert_ids_chats:
        return
    table = cast(Table, AlertRecipient.__table__)
    stmt = (
        table.update()
        .where(
            table.c.alert_id == bindparam("b_alert"),
            table.c.platform == bindparam("b_platform"),
            table.c.chat_id == bindparam("b_chat"),
            table.c.status == QUEUED,
        )
        .values(status=REACHED)
    )
    params = [{"b_alert": a, "b_platform": p, "b_chat": c} for a, p, c in alert_ids_chats]
    await session.execute(stmt, params)


async def settled_emergencies(
    session: AsyncSession, alert_ids: Sequence[int], kind: str
) -> Sequence[Any]:
    """Check-ins of `kind` among these alerts whose every send has an outcome.

    Returns (checkin_id, user_id, reached, total) per check-in with no recipient
    still queued; recipients who left count in neither number.
    """
    if not alert_ids:
        return []
    checkin_ids = select(Alert.checkin_id).where(Alert.id.in_(alert_ids)).scalar_subquery()
    counted = AlertRecipient.status != LEFT
    stmt = (
        select(
            Checkin.id, Checkin.user_id, Checkin.kind, Checkin.variant,
            func.count().filter(AlertRecipient.status == REACHED).label("reached"),
            func.count().filter(counted).label("total"),
            func.count().filter(AlertRecipient.status == QUEUED).label("queued"),
        )
        .join(Alert, Alert.checkin_id == Checkin.id)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(Checkin.id.in_(checkin_ids), Checkin.kind.in_(_stored_as(kind)))
        .group_by(Checkin.id, Checkin.user_id, Checkin.kind, Checkin.variant)
    )  # fmt: skip
    rows = (await session.execute(stmt)).all()
    return [r for r in rows if r.queued == 0 and kind_of(r) == kind]


def _stored_as(kind: str) -> list[str]:
    """The `kind` column values a check-in of this kind may have (duress: also the old one)."""
    return list({stored_kind(Kind(kind))["kind"], kind})


async def open_alerts_with(
    session: AsyncSession, person_id: int, defender_ids: Sequence[int]
) -> Sequence[int]:
    """Open alerts of these defenders on which this person is still a recipient."""
    stmt = (
        select(Checkin.id)
        .join(Alert, Alert.checkin_id == Checkin.id)
        .join(AlertRecipient, AlertRecipient.alert_id == Alert.id)
        .where(
            AlertRecipient.user_id == person_id,
            AlertRecipient.status != LEFT,
            Checkin.user_id.in_(defender_ids),
            Checkin.state == State.MISSED.value,
        )
        .distinct()
    )
    return (await session.execute(stmt)).scalars().all()


async def leave_alert(session: AsyncSession, checkin_id: int, person_id: int) -> None:
    """This person takes no further part in this check-in's alerts."""
    alert_ids = select(Alert.id).where(Alert.checkin_id == checkin_id).scalar_subquery()
    await session.execute(
        update(AlertRecipient)
        .where(AlertRecipient.alert_id.in_(alert_ids), AlertRecipient.user_id == person_id)
        .values(status=LEFT)
        .execution_options(synchronize_session=False)
    )


async def purge_history(session: AsyncSession, before: datetime) -> int:
    """Delete closed check-ins older than `before`; open ones are never purged."""
    closed = and_(
        Checkin.created_at < before,
        Checkin.state.in_((State.OK.value, State.RESOLVED.value, State.CANCELLED.value)),
    )
    ids = select(Checkin.id).where(closed).limit(5000)
    result = await session.execute(delete(Checkin).where(Checkin.id.in_(ids.scalar_subquery())))
    return affected(result)


async def silent_chat_guards(
    session: AsyncSession, rows: Sequence[Any], silent_kinds: Sequence[str]
) -> dict[int, tuple[str, str]]:
    """Outbox rows that post a silent alert to a group chat: {outbox id: (kind, defender id)}.

    The defender id is their identity on the chat's platform ("" when they have none
    there, `UNKNOWN_PERSON` when they have none left anywhere). The sender asks the
    platform whether that person is in the chat first.
    """
    wanted = {r.alert_id for r in rows if r.alert_id is not None and r.user_id is None}
    if not wanted:
        return {}
    found = (
        await session.execute(
            select(Alert.id, Checkin.kind, Checkin.variant, Checkin.user_id)
            .join(Checkin, Checkin.id == Alert.checkin_id)
            .where(
                Alert.id.in_(wanted),
                Checkin.kind.in_([k for s in silent_kinds for k in _stored_as(s)]),
            )
        )
    ).all()
    found = [a for a in found if kind_of(a).value in silent_kinds]
    if not found:
        return {}
    owners = {a.id: (kind_of(a).value, a.user_id) for a in found}
    ids = (
        await session.execute(
            select(Identity.user_id, Identity.platform, Identity.external_id).where(
                Identity.user_id.in_({u for _, u in owners.values()})
            )
        )
    ).all()
    external = {(i.user_id, i.platform): i.external_id for i in ids}
    known = {i.user_id for i in ids}
    guards: dict[int, tuple[str, str]] = {}
    for r in rows:
        if r.alert_id in owners and r.user_id is None:
            kind, owner = owners[r.alert_id]
            # someone erasing themselves mid-alert has no identities left: unknown
            fallback = "" if owner in known else UNKNOWN_PERSON
            guards[r.id] = (kind, external.get((owner, r.platform), fallback))
    return guards


async def unverified_chats(session: AsyncSession, checkin_id: int) -> set[tuple[str, str]]:
    """Group chats of this check-in's alerts whose alert message has not gone out yet."""
    stmt = (
        select(AlertRecipient.platform, AlertRecipient.chat_id)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .where(
            Alert.checkin_id == checkin_id,
            AlertRecipient.user_id.is_(None),
            AlertRecipient.status == QUEUED,
        )
    )
    return {(r.platform, r.chat_id) for r in (await session.execute(stmt)).all()}
