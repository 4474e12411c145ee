"""Two bot processes on one database: every prompt and alert is sent exactly once.

Two complete apps (their own engine, worker id, outbox sender and transport) share
one database, as two `holdfast run` processes would share PostgreSQL. Both tick and
deliver at the same instants, concurrently. The claims (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, `BEGIN IMMEDIATE` on SQLite) and the natural keys must make each
occurrence, alert and message happen once, whichever worker gets it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from bot.app import App
from bot.scheduler import due
from bot.store.db import transaction
from bot.store.migrate import upgrade
from bot.store.models import Checkin, Contact, Identity, Outbox, Schedule, User
from tests.support.clock import FakeClock
from tests.support.fakes import FakeTransport
from tests.support.harness import make_settings

T0 = datetime(2026, 6, 1, 8, 59, tzinfo=UTC)
DUE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
N = 120  # defenders, each with one trusted contact


async def seed(app: App) -> None:
    users, idents, links, schedules = [], [], [], []
    for i in range(N):
        d, c = 2 * i + 1, 2 * i + 2
        for uid, name in ((d, f"d{i}"), (c, f"c{i}")):
            users.append({"id": uid, "display_name": name, "lang": "en", "created_at": T0})
            idents.append({"user_id": uid, "platform": "fake", "external_id": name,
                           "chat_id": name, "last_seen_at": T0})  # fmt: skip
        links.append({"defender_id": d, "contact_id": c, "created_at": T0})
        schedules.append({"user_id": d, "spec": "daily 09:00", "anchor_at": T0,
                          "next_due_at": DUE, "created_at": T0})  # fmt: skip
    async with transaction(app.rt.sessions) as session:
        for model, rows in ((User, users), (Identity, idents), (Contact, links),
                            (Schedule, schedules)):  # fmt: skip
            await session.execute(insert(model), rows)


async def both(apps: list[App], at: datetime) -> None:
    """Tick and then deliver on both workers at once."""
    await asyncio.gather(*(due.run_once(a.rt, at) for a in apps))
    await asyncio.gather(*(a.delivery.run_once(at) for a in apps))


async def test_two_workers_send_each_prompt_reminder_and_alert_once(db_url: str) -> None:
    clock = FakeClock(T0)
    transports = [FakeTransport("fake"), FakeTransport("fake")]
    apps = [
        App(make_settings(db_url), transports={"fake": t}, clock=clock, background=False)
        for t in transports
    ]
    await upgrade(apps[0].engine)
    for app in apps:
        await app.start()
    try:
        await seed(apps[0])
        for minute in (0, 30, 45):  # the prompt, the reminder, the level-1 alert
            clock.set(DUE + timedelta(minutes=minute))
            await both(apps, clock.now())
        sent = [o for t in transports for o in t.sent]
        per_chat = Counter((o.to.chat_id, o.kind.value) for o in sent)
        for i in range(N):
            assert per_chat[(f"d{i}", "prompt")] == 1
            assert per_chat[(f"d{i}", "reminder")] == 1
            assert per_chat[(f"c{i}", "alert")] == 1
        assert len(sent) == 3 * N
        assert all(t.sent for t in transports), "both workers should have done some of the work"
        async with transaction(apps[0].rt.sessions) as session:
            occurrences = await session.scalar(select(func.count()).select_from(Checkin))
            unsent = await session.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.status != "sent")
            )
        assert (occurrences, unsent) == (N, 0)
    finally:
        for app in apps:
            await app.stop()
