"""A single-use invite is used once, even when two people accept it at the same moment.

Two complete apps (two `holdfast run` processes) share one database; two different
people accept the same contact invite concurrently, ten times over. On PostgreSQL both
transactions run at once, so this is the race the conditional `UPDATE … WHERE
status='pending'` must win: exactly one of them becomes a trusted contact, the other
gets the same answer as for a used code, and the defender has one contact per invite.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.app import App
from bot.store.db import transaction
from bot.store.migrate import upgrade
from bot.store.models import Contact, Invite
from tests.support.clock import FakeClock
from tests.support.fakes import FakeTransport
from tests.support.harness import Harness, make_settings

ROUNDS = 10
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def received(transports: list[FakeTransport], who: str) -> list[str]:
    """What `who` received, whichever worker's sender delivered it."""
    return [m for t in transports for m in t.to(who)]


async def test_two_people_accepting_one_invite_at_once_make_one_contact(db_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    transports = [FakeTransport("fake"), FakeTransport("fake")]
    apps = [
        App(make_settings(db_url), transports={"fake": t}, clock=clock, background=False)
        for t in transports
    ]
    await upgrade(apps[0].engine)
    for app in apps:
        await app.start()
    try:
        for n in range(ROUNDS):
            defender, first, second = f"dana{n}", f"carl{n}", f"cleo{n}"
            await transports[0].push(defender, "/invite")
            await apps[0].delivery.run_once(clock.now())
            reply = received(transports, defender)[-1]
            code = next(w for line in reply.splitlines() if line.startswith("accept ")
                        for w in line.split()[1:])  # fmt: skip
            await asyncio.gather(
                transports[0].push(first, f"accept {code}"),
                transports[1].push(second, f"accept {code}"),
            )
            await asyncio.gather(*(a.delivery.run_once(clock.now()) for a in apps))
            answers = received(transports, first) + received(transports, second)
            accepted = [a for a in answers if "trusted contact of" in a]
            refused = [a for a in answers if "That code does not work" in a]
            assert (len(accepted), len(refused)) == (1, 1), answers
        async with transaction(apps[0].rt.sessions) as session:
            links = await session.scalar(select(func.count()).select_from(Contact))
        assert links == ROUNDS
    finally:
        for app in apps:
            await app.stop()


async def test_ended_invites_leave_no_record_a_day_later(db_url: str) -> None:
    """Declined, accepted, revoked and expired invites are deleted 24 h after they end."""
    clock = FakeClock(T0)
    async with Harness(db_url, clock, invite_ttl=timedelta(hours=2)) as h:
        codes = []
        for _ in range(3):
            reply = await h.say("alice", "/invite")
            codes.append(reply[-1].split()[-1])
        await h.say("bob", f"decline {codes[0]}")
        await h.say("carol", f"accept {codes[1]}")  # codes[2] is left to expire
        async with transaction(h.app.rt.sessions) as session:
            rows = (await session.execute(select(Invite.status, Invite.used_by))).all()
        declined = [used for status, used in rows if status == "declined"]
        assert declined == [None], "a declined invite must not record who declined"

        await h.advance(hours=23)  # within a day of ending: still there
        async with transaction(h.app.rt.sessions) as session:
            assert await session.scalar(select(func.count()).select_from(Invite)) == 3
        await h.advance(hours=2)  # declined and accepted ended 25 h ago: gone
        async with transaction(h.app.rt.sessions) as session:
            assert (await session.execute(select(Invite.status))).scalars().all() == ["pending"]
        await h.advance(hours=2)  # the third expired at 2 h: 25 h ago now
        async with transaction(h.app.rt.sessions) as session:
            assert (await session.execute(select(Invite.status))).scalars().all() == []
            assert await session.scalar(select(func.count()).select_from(Contact)) == 1
