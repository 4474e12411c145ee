"""The durable outbox: messages are rows written in the caller's transaction.

`enqueue` never commits: the message commits with the state change that caused it,
or not at all (procrastinate's "defer on your connection" outbox). The delivery
worker claims rows (`claims.outbox_claim_statement`), sends them, and records the
outcome here; every path ends in `sent` or `failed`, never silence.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import PRIORITY, Address, Attachment, Choice, MessageKind, Outgoing
from bot.store.claims import OUTBOX_LEASE, outbox_claim_statement
from bot.store.db import affected
from bot.store.models import Outbox


def dialect_insert(session: AsyncSession, model: Any) -> Any:
    """An INSERT with `on_conflict_do_nothing` for the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def encode(out: Outgoing) -> str:
    """Serialise everything but the address (which has its own columns)."""
    doc: dict[str, Any] = {"text": out.text, "kind": out.kind.value}
    if out.choices:
        doc["choices"] = [[[c.label, c.command] for c in row] for row in out.choices]
    if out.attachment is not None:
        a = out.attachment
        doc["attachment"] = [a.filename, a.mime_type, base64.b64encode(a.data).decode()]
    if out.edit_ref:
        doc["edit_ref"] = out.edit_ref
    if out.answer_ref:
        doc["answer_ref"] = out.answer_ref
    return json.dumps(doc, ensure_ascii=False)


def decode(platform: str, chat_id: str, payload: str) -> Outgoing:
    """Rebuild the `Outgoing` of an outbox row."""
    doc = json.loads(payload)
    attachment = None
    if "attachment" in doc:
        name, mime, data = doc["attachment"]
        attachment = Attachment(name, mime, base64.b64decode(data))
    return Outgoing(
        to=Address(platform, chat_id),
        text=doc["text"],
        choices=tuple(
            tuple(Choice(label, cmd) for label, cmd in row) for row in doc.get("choices", ())
        ),
        kind=MessageKind(doc["kind"]),
        attachment=attachment,
        edit_ref=doc.get("edit_ref"),
        answer_ref=doc.get("answer_ref"),
    )


async def enqueue(
    session: AsyncSession,
    out: Outgoing,
    *,
    now: datetime,
    user_id: int | None = None,
    dedupe_key: str | None = None,
    alert_id: int | None = None,
    checkin_id: int | None = None,
) -> bool:
    """Queue a message in the caller's transaction. False if its dedupe key was taken."""
    values = _row(out, now, user_id, dedupe_key, alert_id, checkin_id)
    stmt = dialect_insert(session, Outbox).values(**values)
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.execute(stmt)
    return bool(affected(result))


async def enqueue_many(
    session: AsyncSession,
    items: Sequence[tuple[Any, ...]],
    *,
    now: datetime,
) -> int:
    """Queue many `(message, user_id, dedupe_key[, alert_id[, checkin_id]])` at once.

    In the caller's transaction; `checkin_id` is the check-in a prompt or reminder
    asks about.

    One executemany (sent as multi-row INSERTs by SQLAlchemy's "insertmanyvalues")
    instead of one statement each, so a tick's burst of prompts costs a few round
    trips; keys already taken are skipped, as in `enqueue`. Returns how many were queued.
    """
    if not items:
        return 0
    rows = [
        _row(out, now, user_id, key, *(list(rest) + [None, None])[:2])
        for out, user_id, key, *rest in items
    ]
    table = Outbox.__table__
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    return len((await session.execute(stmt, rows)).all())


async def record_as_sent(
    session: AsyncSession, items: Sequence[tuple[Any, ...]], *, now: datetime
) -> int:
    """Rows that read as sent `(message, user_id, dedupe_key)` but are never sent.

    A duress alert's stand-in for the reply an SOS leaves in the defender's chat (how
    many it reached): the defender never sees it, and a copy of the database holds the
    same rows for both. Keys already taken are skipped. Returns how many were written.
    """
    if not items:
        return 0
    rows = [
        _row(out, now, user_id, key, None) | {"status": "sent", "attempts": 1, "sent_at": now}
        for out, user_id, key in items
    ]
    table = Outbox.__table__
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    return len((await session.execute(stmt, rows)).all())


def _row(
    out: Outgoing,
    now: datetime,
    user_id: int | None,
    dedupe_key: str | None,
    alert_id: int | None,
    checkin_id: int | None = None,
) -> dict[str, Any]:
    return {
        "dedupe_key": dedupe_key,
        "platform": out.to.platform,
        "chat_id": out.to.chat_id,
        "user_id": user_id,
        "kind": out.kind.value,
        "priority": PRIORITY[out.kind],
        "payload": encode(out),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "alert_id": alert_id,
        "checkin_id": checkin_id,
    }


async def claim_batch(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta = OUTBOX_LEASE,
    platforms: frozenset[str] | None = None,
) -> Sequence[Row[Any]]:
    """Claim up to `limit` sendable messages (see `claims.outbox_claim_statement`)."""
    dialect = session.get_bind().dialect.name
    stmt = outbox_claim_statement(
        worker=worker, now=now, limit=limit, lease=lease, dialect=dialect, platforms=platforms
    )
    return (await session.execute(stmt)).all()


async def renew(session: AsyncSession, row_ids: Sequence[int], worker: str, until: datetime) -> int:
    """Extend this worker's leases on messages it is still sending; returns how many.

    A row another worker took meanwhile (our lease had run out) is not ours to renew.
    """
    if not row_ids:
        return 0
    stmt = (
        update(Outbox)
        .where(Outbox.id.in_(row_ids), Outbox.status == "sending", Outbox.claimed_by == worker)
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return affected(await session.execute(stmt))


async def _finish(session: AsyncSession, row_id: int, worker: str, **values: Any) -> bool:
    stmt = (
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.status == "sending", Outbox.claimed_by == worker)
        .values(claimed_by=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(affected(await session.execute(stmt)))


async def mark_sent(session: AsyncSession, row_id: int, worker: str, now: datetime) -> bool:
    """Record a successful send."""
    return await _finish(session, row_id, worker, status="sent", sent_at=now, last_error=None)


async def mark_sent_many(
    session: AsyncSession, row_ids: Sequence[int], worker: str, now: datetime
) -> int:
    """Record many successful sends with one statement (the delivery hot path)."""
    if not row_ids:
        return 0
    stmt = (
        update(Outbox)
        .where(Outbox.id.in_(row_ids), Outbox.status == "sending", Outbox.claimed_by == worker)
        .values(claimed_by=None, lease_until=None, status="sent", sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return affected(await session.execute(stmt))


async def mark_retry(
    session: AsyncSession, row_id: int, worker: str, at: datetime, error: str
) -> bool:
    """Put a message back in the queue for another try at `at`."""
    return await _finish(
        session, row_id, worker, status="pending", next_attempt_at=at, last_error=error[:300]
    )


async def mark_failed(session: AsyncSession, row_id: int, worker: str, error: str) -> bool:
    """Give up on a message; the caller reports it."""
    return await _finish(session, row_id, worker, status="failed", last_error=error[:300])


async def readdress(
    session: AsyncSession, row_id: int, worker: str, platform: str, old: str, new: str
) -> None:
    """A chat moved (group → supergroup): point this and later messages at the new id."""
    await _finish(session, row_id, worker, status="pending", chat_id=new)
    await session.execute(
        update(Outbox)
        .where(Outbox.platform == platform, Outbox.chat_id == old, Outbox.status == "pending")
        .values(chat_id=new)
        .execution_options(synchronize_session=False)
    )


async def purge_sent(session: AsyncSession, before: datetime) -> int:
    """Delete sent messages older than `before` (their text is personal data)."""
    stmt = delete(Outbox).where(Outbox.status == "sent", Outbox.sent_at < before)
    return affected(await session.execute(stmt))


async def address_of(session: AsyncSession, outbox_id: int) -> tuple[str, str] | None:
    """The (platform, chat_id) a queued message was addressed to, if it still exists."""
    stmt = select(Outbox.platform, Outbox.chat_id).where(Outbox.id == outbox_id)
    found = (await session.execute(stmt)).first()
    return (found.platform, found.chat_id) if found is not None else None
