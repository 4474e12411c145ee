"""The durable outbox: messages commit with the caller's transaction, once per key, and
every claimed row ends sent, back in the queue, or failed — only by its own worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from bot.core.model import PRIORITY, Address, Attachment, Choice, MessageKind, Outgoing
from bot.store import crypto, outbox
from bot.store.db import create_engine, session_factory, transaction
from bot.store.migrate import upgrade
from bot.store.models import Outbox
from tests.store.test_claims import Sessions, seed_users

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BOB = Address("fake", "bob")


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(db_url)
    await upgrade(engine)
    yield session_factory(engine)
    await engine.dispose()


def message(
    text: str = "hello", to: Address = BOB, kind: MessageKind = MessageKind.REPLY
) -> Outgoing:
    return Outgoing(to, text, kind=kind)


async def rows(sessions: Sessions) -> list[Outbox]:
    async with sessions() as session:
        return list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())


def test_encode_decode_round_trip() -> None:
    out = Outgoing(
        Address("signal", "+4915"),
        "Check-in: are you safe? ✓ «ünïcode»",
        choices=(
            (Choice("I'm safe", "/ok"), Choice("I need help", "/sos")),
            (Choice("1", "/ok 1"),),
        ),
        kind=MessageKind.PROMPT,
        attachment=Attachment("chart.png", "image/png", b"\x89PNG\x00\xff"),
        edit_ref="17",
        answer_ref="cbq-1",
    )
    assert outbox.decode("signal", "+4915", outbox.encode(out)) == out
    plain = message()
    assert outbox.decode("fake", "bob", outbox.encode(plain)) == plain


async def test_a_message_commits_with_the_callers_transaction_or_not_at_all(
    sessions: Sessions,
) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(sessions) as session:
            await outbox.enqueue(session, message("lost with the change"), now=NOW)
            raise RuntimeError("the state change failed")
    assert await rows(sessions) == []
    async with transaction(sessions) as session:
        assert await outbox.enqueue(session, message(kind=MessageKind.ALERT), now=NOW, user_id=None)
    [row] = await rows(sessions)
    assert (row.status, row.attempts, row.priority, row.kind) == (
        "pending",
        0,
        PRIORITY[MessageKind.ALERT],
        "alert",
    )
    assert row.next_attempt_at == NOW and row.sent_at is None


async def test_a_dedupe_key_queues_a_message_once(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        assert await outbox.enqueue(
            session, message("first"), now=NOW, dedupe_key="alert:1:1:fake:bob"
        )
        assert not await outbox.enqueue(
            session, message("again"), now=NOW, dedupe_key="alert:1:1:fake:bob"
        )
        assert await outbox.enqueue(session, message("no key"), now=NOW)
        assert await outbox.enqueue(session, message("no key"), now=NOW)
    texts = [outbox.decode("fake", "bob", r.payload).text for r in await rows(sessions)]
    assert texts == ["first", "no key", "no key"]


async def test_enqueue_many_skips_taken_keys_and_counts_what_it_queued(sessions: Sessions) -> None:
    await seed_users(sessions, 5)
    async with transaction(sessions) as session:
        await outbox.enqueue(session, message("old"), now=NOW, dedupe_key="prompt:2")
        items = [
            (message(f"prompt {i}", Address("fake", f"p{i}"), MessageKind.PROMPT), i, f"prompt:{i}")
            for i in range(1, 6)
        ]
        assert await outbox.enqueue_many(session, items, now=NOW) == 4
        assert await outbox.enqueue_many(session, items, now=NOW) == 0
        assert await outbox.enqueue_many(session, [], now=NOW) == 0
    found = await rows(sessions)
    assert [(r.chat_id, r.user_id, r.kind) for r in found[1:]] == [
        (f"p{i}", i, "prompt") for i in (1, 3, 4, 5)
    ]
    assert outbox.decode("fake", "p2", found[0].payload).text == "old"


async def claim(sessions: Sessions, worker: str = "w", now: datetime = NOW) -> list[int]:
    async with transaction(sessions) as session:
        return [r.id for r in await outbox.claim_batch(session, worker=worker, now=now, limit=10)]


async def test_only_the_claiming_worker_records_the_outcome(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await outbox.enqueue(session, message(), now=NOW)
    [row_id] = await claim(sessions)
    async with transaction(sessions) as session:
        assert not await outbox.mark_sent(session, row_id, "someone-else", NOW)
        assert not await outbox.mark_failed(session, row_id, "someone-else", "no")
        assert await outbox.mark_retry(session, row_id, "w", NOW + timedelta(seconds=5), "x" * 500)
    [row] = await rows(sessions)
    assert (row.status, row.claimed_by, row.lease_until) == ("pending", None, None)
    assert row.next_attempt_at == NOW + timedelta(seconds=5) and row.last_error == "x" * 300
    assert await claim(sessions, now=NOW + timedelta(seconds=4)) == []
    assert await claim(sessions, now=NOW + timedelta(seconds=5)) == [row_id]
    async with transaction(sessions) as session:
        assert await outbox.mark_sent(session, row_id, "w", NOW + timedelta(seconds=5))
        assert not await outbox.mark_sent(session, row_id, "w", NOW)  # not in flight any more
    [row] = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert row.sent_at == NOW + timedelta(seconds=5)


async def test_readdress_moves_this_and_later_messages_to_the_new_chat(sessions: Sessions) -> None:
    group = Address("telegram", "-100")
    async with transaction(sessions) as session:
        for n in range(3):
            await outbox.enqueue(session, message(f"m{n}", group, MessageKind.ALERT), now=NOW)
    first = (await claim(sessions))[0]
    async with transaction(sessions) as session:
        await outbox.readdress(session, first, "w", "telegram", "-100", "-1009")
    assert [(r.chat_id, r.status) for r in await rows(sessions)] == [("-1009", "pending")] * 3
    assert await claim(sessions) == [first]  # retried at once, still first in its chat


async def test_purge_sent_keeps_pending_and_failed(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        for chat in ("a", "b", "c"):
            await outbox.enqueue(session, message(to=Address("fake", chat)), now=NOW)
    a, b, _c = await claim(sessions)
    async with transaction(sessions) as session:
        await outbox.mark_sent(session, a, "w", NOW)
        await outbox.mark_failed(session, b, "w", "blocked")
    async with transaction(sessions) as session:
        assert await outbox.purge_sent(session, NOW) == 0  # sent at NOW, not before
        assert await outbox.purge_sent(session, NOW + timedelta(days=1)) == 1
    assert [r.status for r in await rows(sessions)] == ["failed", "sending"]


async def test_message_bodies_are_encrypted_at_rest(sessions: Sessions) -> None:
    crypto.configure("a test secret key")
    try:
        async with transaction(sessions) as session:
            await outbox.enqueue(session, message("Alice has not checked in"), now=NOW)
        async with sessions() as session:
            raw = (await session.execute(text("SELECT payload FROM outbox"))).scalar_one()
            count = (await session.execute(select(func.count()).select_from(Outbox))).scalar_one()
        assert count == 1 and "Alice" not in raw and raw.startswith("hf1:")
        assert (
            outbox.decode("fake", "bob", crypto.decrypt_field(raw)).text
            == "Alice has not checked in"
        )
    finally:
        crypto.configure("")


async def test_no_routine_message_is_claimed_while_an_alert_waits_or_is_in_flight(
    sessions: Sessions,
) -> None:
    """Alerts go before routine prompts, even with claims overlapping (issue 9)."""
    carol, dana = Address("fake", "carol"), Address("fake", "dana")
    async with transaction(sessions) as session:
        await outbox.enqueue(session, message("prompt", to=carol, kind=MessageKind.PROMPT), now=NOW)
        await outbox.enqueue(session, message("ALERT", kind=MessageKind.ALERT), now=NOW)
        await outbox.enqueue(session, message("reply", to=dana), now=NOW)
    prompt_id, alert_id, reply_id = [r.id for r in await rows(sessions)]
    # the alert is ready: this claim takes it (and the reply), not the prompt
    assert sorted(await claim(sessions, worker="a")) == [alert_id, reply_id]
    assert await claim(sessions, worker="b") == []  # the alert is on the wire: still held
    async with transaction(sessions) as session:
        assert await outbox.mark_sent(session, alert_id, "a", NOW)
    assert await claim(sessions, worker="b") == [prompt_id]


async def test_an_alert_waiting_for_its_retry_time_does_not_hold_routine_traffic(
    sessions: Sessions,
) -> None:
    carol = Address("fake", "carol")
    async with transaction(sessions) as session:
        await outbox.enqueue(session, message("ALERT", kind=MessageKind.ALERT), now=NOW)
    [alert_id] = await claim(sessions)
    async with transaction(sessions) as session:
        await outbox.mark_retry(session, alert_id, "w", NOW + timedelta(minutes=5), "5xx")
        await outbox.enqueue(session, message("prompt", to=carol, kind=MessageKind.PROMPT), now=NOW)
    assert len(await claim(sessions)) == 1  # the prompt goes; the alert retries later
