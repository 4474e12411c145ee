"""The outbox lease is short and renewed while a message is being sent (issue 13).

A killed worker's messages are taken over at the end of a short lease
(`tests/ops/test_processes.py` kills a real one); here, the other half: a send
that takes longer than the lease is not sent a second time, because the worker
renews the leases of what it is still sending.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.core.model import Address, MessageKind, Outgoing
from bot.delivery import Delivery
from bot.store import outbox
from bot.store.db import transaction
from tests.support.clock import FakeClock
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.telegram_harness import TelegramSide, telegram_app

CHAT = 515151
LEASE = timedelta(seconds=0.6)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock, fake: FakeTelegram) -> AsyncIterator[TelegramSide]:
    async with telegram_app(sqlite_url, clock, fake) as side:
        yield side


async def test_a_send_slower_than_the_lease_is_not_sent_twice(
    tg: TelegramSide, fake: FakeTelegram, clock: FakeClock
) -> None:
    rt = tg.h.app.rt
    async with transaction(rt.sessions) as session:
        out = Outgoing(Address("telegram", str(CHAT)), "Check-in: are you safe?",
                       kind=MessageKind.PROMPT)  # fmt: skip
        await outbox.enqueue(session, out, now=clock.now())
    fake.hang_next("sendMessage", seconds=2.0, deliver=True)  # Telegram is slow: 3 leases

    async def time_passes() -> None:  # the fake clock keeps up with the wall clock
        while True:
            await asyncio.sleep(0.05)
            clock.advance(timedelta(seconds=0.05))

    delivery = Delivery(rt, tg.h.app.transports, lease=LEASE, idle_poll=0.05)
    ticking = asyncio.create_task(time_passes())
    running = asyncio.create_task(delivery.run())
    try:
        await fake.wait_for(lambda: len(fake.sent) >= 1, timeout=5)
        await asyncio.sleep(1.0)  # a second send of it would arrive now
    finally:
        delivery.request_stop()
        await running
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking
    assert fake.messages_to(CHAT) == ["Check-in: are you safe?"]
