"""Two people act on one alert at the same instant: exactly one wins (issue 9).

Bob and Carol both press "I'm on it" for Alice's alert, each through the real
router in their own session and transaction, many times over with random jitter.
The engine reads the check-in (locked on PostgreSQL) and writes with a conditional
update that re-checks the row's state, so exactly one acknowledgement stands, the
other is told who has it, and "X is handling it" goes to the other only — never to
the person who acknowledged. The same for two resolves.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.core.model import Address, Incoming, Sender
from bot.store.models import Checkin
from tests.e2e.test_escalation import Story
from tests.store.test_race import jitter

NINE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


async def press(s: Story, who: str, text: str, rng: random.Random) -> None:
    await jitter(rng)
    sender = Sender("fake", who, who.capitalize())
    await s.h.app.router.handle(Incoming(sender, Address("fake", who), True, text=text))


async def test_two_acknowledgements_at_once_one_wins(db_url: str) -> None:
    rng = random.Random(20260601)
    async with Story(db_url) as s:
        await s.contacts("alice", "bob", "carol")
        await s.missed_at_945()
        for round_ in range(8):
            s.clear()
            sides = [press(s, "bob", "/ack", rng), press(s, "carol", "/ack", rng)]
            rng.shuffle(sides)
            await asyncio.gather(*sides)
            await s.h.deliver()
            bob, carol = s.new("bob"), s.new("carol")
            thanks = [m for m in bob + carol if m.startswith("Thank you. The others alerted")]
            already = [m for m in bob + carol if "already handling this alert" in m]
            assert len(thanks) == 1 and len(already) == 1, (round_, bob, carol)
            winner = "bob" if any(m in thanks for m in bob) else "carol"
            loser = "carol" if winner == "bob" else "bob"
            # the one acknowledging is never told that they are handling it
            assert not any(
                "is handling the alert" in m for m in (bob if winner == "bob" else carol)
            )
            handled = [
                m for m in (carol if winner == "bob" else bob) if "is handling the alert" in m
            ]
            # contacts hear that someone is on it, never who (issue 10)
            assert handled == ["Someone alerted is handling the alert for Alice."], loser
            async with s.h.app.rt.sessions() as session:
                acked_by = (await session.execute(select(Checkin.acked_by))).scalars().all()
            assert acked_by == [await s.uid(winner)]
            await s.h.advance(timedelta(hours=2))  # the acknowledgement lapses: next round
            assert s.heads(winner) == ["ALERT OPEN AGAIN"]


async def test_two_resolves_at_once_close_the_alert_once(db_url: str) -> None:
    rng = random.Random(7)
    async with Story(db_url) as s:
        await s.contacts("alice", "bob", "carol")
        await s.missed_at_945()
        s.clear()
        sides = [press(s, "bob", "/resolve", rng), press(s, "carol", "/resolve", rng)]
        rng.shuffle(sides)
        await asyncio.gather(*sides)
        await s.h.deliver()
        bob, carol = s.new("bob"), s.new("carol")
        closed = [m for m in bob + carol if m.startswith("Thank you. The alert for Alice")]
        none = [m for m in bob + carol if m == "You have no open alert to resolve."]
        told = [m for m in bob + carol if m.startswith("RESOLVED:")]
        assert len(closed) == len(none) == len(told) == 1, (bob, carol)
