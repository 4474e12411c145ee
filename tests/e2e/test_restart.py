"""Restart: nothing due is lost or doubled across app lifetimes (acceptance 4).

Two `Harness` instances on one real SQLite file are two lifetimes of the app. While
the first is stopped the clock moves past a deadline; the second sends what became
due within one tick, exactly once, however often it ticks afterwards. A message
queued (or claimed, mid-send) before the stop is delivered after the restart:
delivery is at-least-once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.scheduler import due
from bot.store import outbox
from bot.store.claims import OUTBOX_LEASE
from bot.store.db import transaction
from bot.store.models import Outbox
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link

REMINDER = "Reminder: please check in now."
ALERT = "SAFETY ALERT: Alice has not checked in."


def count(messages: list[str], prefix: str) -> int:
    return sum(m.startswith(prefix) for m in messages)


async def first_lifetime(url: str, clock: FakeClock) -> None:
    """Alice (contact: bob) has a 09:00 check-in; she is prompted, then the app stops."""
    async with Harness(url, clock) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        assert count(h.inbox("alice"), "Check-in: are you safe?") == 1


async def tick_many(h: Harness, times: int, step: timedelta = timedelta(minutes=1)) -> None:
    for _ in range(times):
        await h.advance(step)


async def test_deadline_passes_while_down_reminder_then_alert_exactly_once(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    await first_lifetime(sqlite_url, clock)
    clock.set(datetime(2026, 6, 1, 9, 40, tzinfo=UTC))  # deadline 09:30 passed while down

    async with Harness(sqlite_url, clock) as h:
        await h.tick()  # within one tick
        assert count(h.new_for("alice"), REMINDER) == 1
        await tick_many(h, 14)  # 09:54: grace (15m from the reminder) still running
        assert h.new_for("alice") == [] and h.new_for("bob") == []
        await h.advance(minutes=1)  # 09:55: grace over
        bob = h.new_for("bob")
        assert count(bob, ALERT) == 1 and len(bob) == 1
        await tick_many(h, 60)  # a busy second lifetime: no duplicates, only the repeats
        assert h.new_for("alice") == []
        assert [m.split(":")[0] for m in h.new_for("bob")] == [
            "REPEAT (1 of 3)", "REPEAT (2 of 3)", "REPEAT (3 of 3)"
        ]  # fmt: skip
        assert count(h.inbox("alice"), REMINDER) == 1 and count(h.inbox("bob"), ALERT) == 1


async def test_grace_passes_while_down_alert_within_one_tick_exactly_once(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 9, 30, tzinfo=UTC))
        assert count(h.inbox("alice"), REMINDER) == 1
    clock.set(datetime(2026, 6, 1, 11, 0, tzinfo=UTC))  # grace long over while down

    async with Harness(sqlite_url, clock) as h:
        await h.tick()
        assert count(h.new_for("bob"), ALERT) == 1
        await tick_many(h, 30)  # no duplicate: only the repeats of an unacknowledged alert
        assert [m.split(":")[0] for m in h.new_for("bob")] == ["REPEAT (1 of 3)", "REPEAT (2 of 3)"]
        assert h.new_for("alice") == []
        reply = await h.say("alice", "ok")
        assert reply[0].startswith("Thank you")
        assert h.new_for("bob") == ["ALL CLEAR: Alice has checked in and is safe."]


async def test_two_lifetimes_ticking_the_same_instant_prompt_once(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await h.say("alice", "/checkin daily 09:00")
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as one, Harness(sqlite_url, clock) as two:
        reports = [await due.run_once(one.app.rt), await due.run_once(two.app.rt)]
        await one.deliver()
        await two.deliver()
        assert [r.prompts for r in reports] == [1, 0]
        prompts = one.inbox("alice") + two.inbox("alice")
        assert count(prompts, "Check-in: are you safe?") == 1


async def test_queued_but_unsent_message_goes_out_after_restart(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await h.say("alice", "/checkin daily 09:00")
        clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        report = await due.run_once(h.app.rt)  # the prompt is queued, never delivered
        assert report.prompts == 1 and h.new_for("alice") == []

    async with Harness(sqlite_url, clock) as h:
        assert await h.deliver() == 1
        assert count(h.new_for("alice"), "Check-in: are you safe?") == 1
        assert await h.deliver() == 0


async def test_message_claimed_mid_send_is_sent_again_after_its_lease(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await h.say("alice", "/checkin daily 09:00")
        clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        await due.run_once(h.app.rt)
        async with transaction(h.app.rt.sessions) as session:  # a worker claims it, then dies
            claimed = await outbox.claim_batch(session, worker="crashed", now=clock.now(), limit=10)
        assert len(claimed) == 1

    async with Harness(sqlite_url, clock) as h:
        assert await h.deliver() == 0  # still leased to the dead worker
        clock.advance(OUTBOX_LEASE + timedelta(seconds=1))  # the outbox lease is over
        assert await h.deliver() == 1
        assert count(h.new_for("alice"), "Check-in: are you safe?") == 1
        async with h.app.rt.sessions() as session:
            row = (
                await session.execute(select(Outbox).where(Outbox.kind == "prompt"))
            ).scalar_one()
        assert (row.status, row.attempts, row.claimed_by) == ("sent", 2, None)
