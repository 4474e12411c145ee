"""Claims of due work: one statement, `SKIP LOCKED` on PostgreSQL, leases, outbox order.

SQLAlchemy's SQLite compiler silently drops `FOR UPDATE`, so the PostgreSQL form is
checked in the compiled SQL (STYLE.md practice 6) and in what is actually executed.
Concurrency runs real claimers on separate sessions against a real database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.model import Address, MessageKind, Outgoing
from bot.store import checkins as checkin_store
from bot.store import claims, outbox
from bot.store.claims import OUTBOX_LEASE
from bot.store.db import create_engine, session_factory, transaction
from bot.store.migrate import upgrade
from bot.store.models import Checkin, Outbox, Schedule, User

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(db_url)
    await upgrade(engine)
    yield session_factory(engine)
    await engine.dispose()


def compiled(stmt: Any, dialect: str) -> str:
    return str(
        stmt.compile(dialect=postgresql.dialect() if dialect == "postgresql" else sqlite.dialect())
    )


def claim_statements(dialect: str) -> list[Any]:
    common = {
        "worker": "w",
        "now": NOW,
        "limit": 10,
        "lease": timedelta(seconds=60),
        "dialect": dialect,
    }
    return [
        claims.claim_statement(
            Schedule, Schedule.next_due_at <= NOW, (Schedule.next_due_at,), **common
        ),
        claims.claim_statement(Checkin, Checkin.next_action_at <= NOW, (Checkin.id,), **common),
        claims.outbox_claim_statement(**common),
    ]


def test_postgresql_claims_skip_locked_rows() -> None:
    for stmt in claim_statements("postgresql"):
        sql = compiled(stmt, "postgresql")
        assert "FOR UPDATE SKIP LOCKED" in sql
        # the locking SELECT is a CTE evaluated once, then one UPDATE … RETURNING
        assert sql.lstrip().startswith("WITH claimable AS MATERIALIZED")
        assert "\n UPDATE " in sql and "RETURNING" in sql


def test_sqlite_claims_have_no_for_update_and_recheck_the_condition() -> None:
    for stmt in claim_statements("sqlite"):
        sql = compiled(stmt, "sqlite")
        assert "FOR UPDATE" not in sql
        assert sql.lstrip().startswith("UPDATE") and "RETURNING" in sql
        # the outer WHERE re-checks the lease, not only the inner SELECT
        outer = sql.split("IN (SELECT", 1)[1].rsplit(")", 1)[1]
        assert "lease_until" in outer or "status" in outer


# -- seeding ---------------------------------------------------------------------------


async def seed_users(sessions: Sessions, n: int) -> None:
    rows = [
        {"id": i, "display_name": f"u{i}", "lang": "en", "created_at": NOW} for i in range(1, n + 1)
    ]
    async with transaction(sessions) as session:
        await session.execute(insert(User), rows)


async def seed_due(sessions: Sessions, n: int) -> None:
    """n users, each with a due schedule, a due check-in, and a pause that has ended."""
    await seed_users(sessions, n)
    async with transaction(sessions) as session:
        await session.execute(insert(Schedule), [
            {"user_id": i, "spec": "daily 09:00", "anchor_at": NOW, "created_at": NOW,
             "next_due_at": NOW - timedelta(seconds=i)} for i in range(1, n + 1)
        ])  # fmt: skip
        await session.execute(insert(Checkin), [
            {"user_id": i, "kind": "timer", "due_at": NOW, "deadline_at": NOW, "state": "pending",
             "level": 0, "next_action_at": NOW - timedelta(seconds=i), "grace_s": 900,
             "level2_after_s": 1800, "created_at": NOW} for i in range(1, n + 1)
        ])  # fmt: skip
        for user in (await session.execute(select(User))).scalars():
            user.paused_until = user.pause_ends_at = NOW - timedelta(minutes=1)


async def queue(sessions: Sessions, *items: tuple[str, MessageKind]) -> list[int]:
    """Queue messages (chat, kind) in order; returns their ids."""
    async with transaction(sessions) as session:
        for chat, kind in items:
            await outbox.enqueue(
                session, Outgoing(Address("fake", chat), f"{kind} to {chat}", kind=kind), now=NOW
            )
        return list((await session.execute(select(Outbox.id).order_by(Outbox.id))).scalars())[
            -len(items) :
        ]


# -- what is executed --------------------------------------------------------------------


async def test_each_claim_is_one_update_statement(sessions: Sessions) -> None:
    await seed_due(sessions, 3)
    engine = sessions.kw["bind"]
    executed: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            executed.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with transaction(sessions) as session:
            assert len(await claims.claim_schedules(session, worker="w", now=NOW, limit=10)) == 3
            assert len(await claims.claim_checkins(session, worker="w", now=NOW, limit=10)) == 3
            assert len(await claims.claim_pause_ends(session, now=NOW, limit=10)) == 3
            assert len(await outbox.claim_batch(session, worker="w", now=NOW, limit=10)) == 0
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert len(executed) == 4
    postgres = engine.dialect.name == "postgresql"
    for sql in executed:
        assert sql.lstrip().startswith("WITH claimable AS MATERIALIZED" if postgres else "UPDATE")
        assert "RETURNING" in sql and sql.count("UPDATE ") == 1 + postgres
        assert ("FOR UPDATE SKIP LOCKED" in sql) == postgres


# -- concurrency and leases -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["schedules", "checkins", "outbox", "pause_ends"])
async def test_a_claim_takes_at_most_its_limit(sessions: Sessions, kind: str) -> None:
    """Regression: as `id IN (SELECT … LIMIT 3 FOR UPDATE SKIP LOCKED)` PostgreSQL could
    re-run the subquery per candidate row and claim all 60 (fixed with a MATERIALIZED CTE)."""
    await seed_due(sessions, 60)
    await queue(sessions, *((f"chat{i}", MessageKind.PROMPT) for i in range(60)))
    async with transaction(sessions) as session:
        if kind == "schedules":
            rows = await claims.claim_schedules(session, worker="w", now=NOW, limit=3)
        elif kind == "checkins":
            rows = await claims.claim_checkins(session, worker="w", now=NOW, limit=3)
        elif kind == "outbox":
            rows = await outbox.claim_batch(session, worker="w", now=NOW, limit=3)
        else:
            rows = await claims.claim_pause_ends(session, now=NOW, limit=3)
    assert len(rows) == 3
    if kind == "schedules":  # oldest due first
        assert sorted(r.user_id for r in rows) == [58, 59, 60]


async def claim_all(sessions: Sessions, kind: str, worker: str, out: list[tuple[str, int]]) -> None:
    """Claim in small batches until nothing is left, yielding between batches."""
    while True:
        async with transaction(sessions) as session:
            if kind == "schedules":
                rows = await claims.claim_schedules(session, worker=worker, now=NOW, limit=3)
            elif kind == "checkins":
                rows = await claims.claim_checkins(session, worker=worker, now=NOW, limit=3)
            else:
                rows = await outbox.claim_batch(session, worker=worker, now=NOW, limit=3)
            out.extend((worker, r.id) for r in rows)
        if not rows:
            return
        await asyncio.sleep(0)


@pytest.mark.parametrize("kind", ["schedules", "checkins", "outbox"])
async def test_concurrent_claimers_never_claim_the_same_row(sessions: Sessions, kind: str) -> None:
    n = 60
    await seed_due(sessions, n)
    if kind == "outbox":
        await queue(sessions, *((f"chat{i}", MessageKind.PROMPT) for i in range(n)))
    claimed: list[tuple[str, int]] = []
    await asyncio.gather(*(claim_all(sessions, kind, f"w{k}", claimed) for k in range(4)))
    ids = [row_id for _, row_id in claimed]
    assert len(ids) == len(set(ids)) == n
    assert len({worker for worker, _ in claimed}) >= 2  # the claimers really interleaved


async def test_pause_ends_are_claimed_once(sessions: Sessions) -> None:
    await seed_due(sessions, 20)

    async def claim() -> list[int]:
        async with transaction(sessions) as session:
            return [r.id for r in await claims.claim_pause_ends(session, now=NOW, limit=50)]

    first, second = await asyncio.gather(claim(), claim())
    assert sorted(first + second) == list(range(1, 21))


async def test_an_expired_lease_is_claimable_again(sessions: Sessions) -> None:
    await seed_due(sessions, 2)
    lease = timedelta(seconds=60)

    async def claim(worker: str, at: datetime) -> list[int]:
        async with transaction(sessions) as session:
            rows = await claims.claim_checkins(
                session, worker=worker, now=at, limit=10, lease=lease
            )
            return sorted(r.id for r in rows)

    assert await claim("dead", NOW) == [1, 2]
    assert await claim("other", NOW + timedelta(seconds=30)) == []  # still leased
    assert await claim("other", NOW + timedelta(seconds=61)) == [1, 2]
    async with sessions() as session:
        rows = (await session.execute(select(Checkin.claimed_by, Checkin.lease_until))).all()
    assert {r.claimed_by for r in rows} == {"other"}
    assert {r.lease_until for r in rows} == {NOW + timedelta(seconds=61) + lease}


async def test_expired_outbox_lease_is_claimed_again_with_one_more_attempt(
    sessions: Sessions,
) -> None:
    [message] = await queue(sessions, ("bob", MessageKind.ALERT))
    async with transaction(sessions) as session:
        assert [
            r.id for r in await outbox.claim_batch(session, worker="dead", now=NOW, limit=5)
        ] == [message]
    async with transaction(sessions) as session:
        assert (
            await outbox.claim_batch(
                session, worker="w", now=NOW + OUTBOX_LEASE - timedelta(seconds=1), limit=5
            )
            == []
        )
        again = await outbox.claim_batch(
            session, worker="w", now=NOW + OUTBOX_LEASE + timedelta(seconds=1), limit=5
        )
    assert [(r.id, r.attempts, r.claimed_by) for r in again] == [(message, 2, "w")]


# -- outbox order ---------------------------------------------------------------------------


async def test_alerts_are_claimed_before_a_thousand_prompts(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        prompts = [
            (Outgoing(Address("fake", f"p{i}"), "Check-in", kind=MessageKind.PROMPT), None, None)
            for i in range(1000)
        ]
        assert await outbox.enqueue_many(session, prompts, now=NOW) == 1000
    [alert] = await queue(sessions, ("bob", MessageKind.ALERT))
    async with transaction(sessions) as session:
        first = await outbox.claim_batch(session, worker="w", now=NOW, limit=1)
    assert [r.id for r in first] == [alert]


async def test_priority_order_alert_reply_reminder_info_prompt(sessions: Sessions) -> None:
    kinds = [
        MessageKind.PROMPT,
        MessageKind.INFO,
        MessageKind.REMINDER,
        MessageKind.REPLY,
        MessageKind.ALERT,
    ]
    ids = await queue(sessions, *((f"chat{i}", kind) for i, kind in enumerate(kinds)))
    claimed = []
    for _ in kinds:
        async with transaction(sessions) as session:
            claimed += [
                r.id for r in await outbox.claim_batch(session, worker="w", now=NOW, limit=1)
            ]
            await outbox.mark_sent(session, claimed[-1], "w", NOW)  # routine waits for alerts
    assert claimed == list(reversed(ids))


async def test_one_message_in_flight_per_chat_oldest_first(sessions: Sessions) -> None:
    first, second, third, other = await queue(
        sessions,
        ("alice", MessageKind.PROMPT),
        ("alice", MessageKind.ALERT),  # an alert still waits behind the older prompt in its chat
        ("alice", MessageKind.REPLY),
        ("bob", MessageKind.ALERT),
    )

    async def claim() -> list[int]:
        async with transaction(sessions) as session:
            return [r.id for r in await outbox.claim_batch(session, worker="w", now=NOW, limit=10)]

    assert sorted(await claim()) == [first, other]
    assert await claim() == []  # alice's next waits while her first is in flight
    async with transaction(sessions) as session:
        assert await outbox.mark_sent(session, first, "w", NOW)
    assert await claim() == [second]
    async with transaction(sessions) as session:
        assert await outbox.mark_retry(session, second, "w", NOW + timedelta(seconds=5), "boom")
    assert await claim() == []  # a retry waiting keeps the chat's order too
    async with transaction(sessions) as session:
        retried = await outbox.claim_batch(
            session, worker="w", now=NOW + timedelta(seconds=5), limit=10
        )  # within bob's lease, so only alice's retry
        assert [r.id for r in retried] == [second]
        assert await outbox.mark_failed(session, second, "w", "gave up")
    assert await claim() == [third]  # a failed message no longer blocks its chat


async def test_an_occurrence_is_created_once_however_often_it_is_tried(sessions: Sessions) -> None:
    """UNIQUE(schedule_id, due_at) with ON CONFLICT DO NOTHING, in the batched insert too."""
    await seed_due(sessions, 3)
    rows = [
        {"user_id": i, "schedule_id": i, "kind": "scheduled", "due_at": NOW, "deadline_at": NOW,
         "state": "pending", "level": 0, "next_action_at": NOW, "grace_s": 900,
         "level2_after_s": 1800, "created_at": NOW}
        for i in (1, 2)
    ]  # fmt: skip
    async with transaction(sessions) as session:
        first = await checkin_store.create_scheduled(session, rows)
        assert sorted(first) == [1, 2]
        assert await checkin_store.create_scheduled(session, rows) == {}
        third = rows + [{**rows[0], "user_id": 3, "schedule_id": 3}]
        assert list(await checkin_store.create_scheduled(session, third)) == [3]
        again = await checkin_store.create_checkin(session, **rows[0])
        assert again is None
    async with sessions() as session:
        count = select(func.count()).select_from(Checkin).where(Checkin.schedule_id.is_not(None))
        assert (await session.execute(count)).scalar_one() == 3
