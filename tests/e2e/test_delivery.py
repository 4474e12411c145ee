"""Delivery through a scripted `FakeTransport`: retries, rate limits, failures, order, priority.

The whole app runs (router, outbox, delivery worker); only the platform is fake, and
it fails exactly when told to. Every message ends sent, waiting for a retry, or
failed and reported — never silently dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.core.model import Address, MessageKind, Outgoing
from bot.store import outbox
from bot.store.db import transaction
from bot.store.models import Outbox
from bot.transports.base import (
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    TransientDeliveryError,
)
from tests.support.clock import FakeClock
from tests.support.fakes import FakeTransport
from tests.support.harness import Harness, contact_link

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
HELP = "New here? Start with:\n/tz Asia/Bangkok"  # /help for someone with nothing set up


def harness(url: str) -> tuple[Harness, FakeTransport]:
    fake = FakeTransport("fake")
    return Harness(url, FakeClock(T0), extra_transports={"fake": fake}), fake


async def registered(h: Harness, fake: FakeTransport, *names: str) -> None:
    """Each name says /start on the fake platform and gets the greeting."""
    for name in names:
        await fake.push(name, "/start")
        await h.deliver()
    fake.sent.clear()
    fake.attempts.clear()


async def rows_to(h: Harness, chat: str) -> list[Outbox]:
    async with h.app.rt.sessions() as session:
        stmt = select(Outbox).where(Outbox.chat_id == chat).order_by(Outbox.id)
        return list((await session.execute(stmt)).scalars())


async def test_transient_failures_are_retried_with_backoff(sqlite_url: str) -> None:
    h, fake = harness(sqlite_url)
    async with h:
        await registered(h, fake, "bob")
        fake.fail_next(TransientDeliveryError("connection reset"), times=2, chat="bob")
        await fake.push("bob", "/help")
        assert await h.deliver() == 1 and fake.sent == []  # first try failed
        assert await h.deliver() == 0  # not yet due again
        h.clock.advance(timedelta(seconds=1.5))  # backoff 2 s ± 20%
        assert await h.deliver() == 0
        h.clock.advance(timedelta(seconds=1))
        assert await h.deliver() == 1 and fake.sent == []  # second try failed
        h.clock.advance(timedelta(seconds=3.1))  # backoff 4 s ± 20%
        assert await h.deliver() == 0
        h.clock.advance(timedelta(seconds=1.8))
        assert await h.deliver() == 1
        assert [m.startswith(HELP) for m in fake.to("bob")] == [True]
        [row] = (await rows_to(h, "bob"))[-1:]
        assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
        assert len(fake.attempts) == 3


async def test_rate_limited_send_waits_exactly_retry_after(sqlite_url: str) -> None:
    h, fake = harness(sqlite_url)
    async with h:
        await registered(h, fake, "bob")
        fake.fail_next(RateLimited(1), chat="bob")
        await fake.push("bob", "/help")
        await h.deliver()
        [row] = (await rows_to(h, "bob"))[-1:]
        assert row.status == "pending" and row.next_attempt_at == T0 + timedelta(seconds=1)
        assert row.last_error == "rate limited (retry after 1s)"
        h.clock.advance(timedelta(seconds=0.9))
        assert await h.deliver() == 0
        h.clock.advance(timedelta(seconds=0.1))
        assert await h.deliver() == 1 and len(fake.to("bob")) == 1


async def test_unreachable_alert_recipient_is_marked_failed_and_the_others_told(
    sqlite_url: str,
) -> None:
    h, fake = harness(sqlite_url)
    async with h:
        await registered(h, fake, "bob")
        invite = await h.say("alice", "/invite")
        code = invite[-1].split()[-1]
        await fake.push("bob", f"accept {code}")
        await h.deliver()
        await contact_link(h, "alice", "carol")
        h.clear()
        fake.sent.clear()
        fake.attempts.clear()
        fake.fail_next(RecipientUnreachable("bot was blocked by the user"), chat="bob")

        reply = await h.say("alice", "/sos")
        assert reply == [  # counted only once every send has an outcome: Bob blocked the bot
            "Your alert is being sent to 2 people. I will tell you when it has reached them. "
            "Stay as safe as you can.",
            "Your SOS reached 1 of 2 people. They have been asked to check on you.",
        ]
        carol = h.new_for("carol")
        assert carol[0].startswith("SOS: Alice asked for help just now.")
        assert carol[1] == (
            "Note: the alert about Alice could not reach one of the people who should have "
            "received it."
        )
        assert fake.to("bob") == [] and h.new_for("alice") == []
        [alert] = [r for r in await rows_to(h, "bob") if r.kind == "alert"]
        assert alert.status == "failed" and alert.attempts == 1
        assert alert.last_error == "RecipientUnreachable: bot was blocked by the user"
        await h.advance(hours=1)
        assert len(fake.attempts) == 1  # never retried


async def test_a_permanently_failed_reply_is_recorded_and_does_not_block_the_chat(
    sqlite_url: str,
) -> None:
    h, fake = harness(sqlite_url)
    async with h:
        await registered(h, fake, "bob")
        fake.fail_next(PermanentDeliveryError("Bad Request: message is too long"), chat="bob")
        await fake.push("bob", "/help")
        await fake.push("bob", "/tz")
        await h.deliver()
        help_row, tz_row = (await rows_to(h, "bob"))[-2:]
        assert (help_row.status, tz_row.status) == ("failed", "sent")
        assert fake.to("bob") == ["Your time zone is UTC. Change it with /tz Area/City, for "
                                  "example /tz Africa/Nairobi."]  # fmt: skip


async def test_messages_to_one_chat_keep_their_order_through_a_retry(sqlite_url: str) -> None:
    h, fake = harness(sqlite_url)
    async with h:
        await registered(h, fake, "bob", "dan")
        for text in ("/help", "/tz", "/contacts"):
            await fake.push("bob", text)
        await fake.push("dan", "/tz")
        fake.fail_next(TransientDeliveryError("timed out"), chat="bob")
        await h.deliver()
        assert fake.to("bob") == [] and len(fake.to("dan")) == 1  # bob's chat waits, dan's not
        h.clock.advance(timedelta(seconds=3))
        await h.deliver()
        got = fake.to("bob")
        assert len(got) == 3
        assert got[0].startswith(HELP)
        assert got[1].startswith("Your time zone is UTC")
        assert got[2].startswith("You have no trusted contacts yet")


async def test_an_alert_jumps_ahead_of_a_thousand_queued_prompts(sqlite_url: str) -> None:
    h, fake = harness(sqlite_url)
    async with h:
        await registered(h, fake, "bob")
        invite = await h.say("alice", "/invite")
        await fake.push("bob", f"accept {invite[-1].split()[-1]}")
        await h.deliver()
        fake.sent.clear()
        async with transaction(h.app.rt.sessions) as session:
            prompts = [
                (
                    Outgoing(Address("fake", f"p{i}"), "Are you safe?", kind=MessageKind.PROMPT),
                    None,
                    None,
                )
                for i in range(1000)
            ]
            await outbox.enqueue_many(session, prompts, now=T0)
        await h.say("alice", "/sos")  # queued after the thousand prompts
        texts = [o.text for o in fake.sent]
        alert_at = next(i for i, t in enumerate(texts) if t.startswith("SOS: Alice"))
        assert alert_at < 64  # in the first batch the worker sends (its concurrency)
        assert len(fake.sent) == 1001


async def test_a_message_failing_for_a_day_is_given_up_and_recorded(sqlite_url: str) -> None:
    h, fake = harness(sqlite_url)
    async with h:
        await registered(h, fake, "bob")
        fake.fail_next(TransientDeliveryError("503 Service Unavailable"), times=100, chat="bob")
        await fake.push("bob", "/tz")
        await h.deliver()
        h.clock.advance(timedelta(hours=25))
        assert await h.deliver() == 1
        [row] = (await rows_to(h, "bob"))[-1:]
        assert (row.status, row.attempts) == ("failed", 2)
        assert row.last_error == "TransientDeliveryError: 503 Service Unavailable"


async def test_a_message_for_a_platform_not_running_waits_for_it(sqlite_url: str) -> None:
    h, fake = harness(sqlite_url)
    async with h:
        async with transaction(h.app.rt.sessions) as session:
            await outbox.enqueue(session, Outgoing(Address("signal", "+49"), "hello"), now=T0)
        assert await h.deliver() == 1
        [row] = await rows_to(h, "+49")
        assert row.status == "pending" and row.last_error == "no transport for signal is running"


async def test_a_clean_stop_records_sends_in_flight_so_a_restart_does_not_repeat_them(
    sqlite_url: str,
) -> None:
    import asyncio

    from bot.app import App
    from bot.clock import SystemClock
    from bot.store.db import create_engine
    from tests.support.harness import make_settings

    class SlowTransport(FakeTransport):
        on_the_wire = False

        async def send(self, out: Outgoing):  # type: ignore[no-untyped-def]
            self.on_the_wire = True
            await asyncio.sleep(0.3)  # still sending when the stop comes
            return await super().send(out)

    slow = SlowTransport()
    app = App(make_settings(sqlite_url), transports={"fake": slow}, clock=SystemClock())
    await app.start()
    async with transaction(app.rt.sessions) as session:
        await outbox.enqueue(
            session, Outgoing(Address("fake", "bob"), "hello", kind=MessageKind.INFO),
            now=SystemClock().now(),
        )  # fmt: skip
    app.delivery.wake()
    for _ in range(200):  # until the send is on the wire
        if slow.on_the_wire:
            break
        await asyncio.sleep(0.01)
    assert slow.on_the_wire and not slow.sent
    await app.stop()
    assert slow.to("bob") == ["hello"]
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            statuses = (await conn.execute(select(Outbox.status))).scalars().all()
    finally:
        await engine.dispose()
    assert statuses == ["sent"]
