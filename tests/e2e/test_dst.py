"""A 01:30 daily check-in in Europe/London across both clock changes of 2026 (acceptance 2).

The rule (bot/core/schedules.py, told to the defender when they set the check-in):
a time that does not exist comes later by the jump; a time that happens twice comes
once, the first time. Run through the whole app with a fake clock, counting the
prompts alice receives on each local day.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.store.models import Checkin
from tests.support.clock import FakeClock
from tests.support.harness import Harness

LONDON = ZoneInfo("Europe/London")
STEP = timedelta(minutes=30)  # every due time here is on this grid


async def prompts_until(h: Harness, end: datetime) -> list[datetime]:
    """Tick every 30 minutes until `end`; the instants alice was prompted (and answered)."""
    seen: list[datetime] = []
    while h.clock.now() < end:
        await h.advance(STEP)
        got = h.new_for("alice")
        prompts = [m for m in got if m.startswith("Check-in: are you safe?")]
        seen += [h.clock.now()] * len(prompts)
        if prompts:
            assert (await h.say("alice", "ok"))[0].startswith("Thank you, you are checked in")
    return seen


def per_local_day(instants: list[datetime]) -> Counter[date]:
    return Counter(i.astimezone(LONDON).date() for i in instants)


async def due_times(h: Harness) -> list[datetime]:
    async with h.app.rt.sessions() as session:
        stmt = select(Checkin.due_at).where(Checkin.kind == "scheduled").order_by(Checkin.due_at)
        return list((await session.execute(stmt)).scalars())


async def test_spring_forward_0130_fires_once_an_hour_later(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 3, 27, 22, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await h.say("alice", "/tz Europe/London")
        reply = await h.say("alice", "/checkin daily 01:30")
        assert reply[0] == "Check-in #1 added: daily 01:30. Next: Sat 28 Mar 01:30 (Europe/London)."
        assert (
            "Note: on 29 Mar 2026 the clocks go forward and 01:30 does not exist; "
            "that day this check-in comes one hour later, by the new time."
        ) in reply
        prompted = await prompts_until(h, datetime(2026, 3, 30, 6, 0, tzinfo=UTC))

        assert prompted == [
            datetime(2026, 3, 28, 1, 30, tzinfo=UTC),  # 01:30 GMT
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # 02:30 BST: 01:30 did not exist
            datetime(2026, 3, 30, 0, 30, tzinfo=UTC),  # 01:30 BST
        ]
        assert per_local_day(prompted) == {
            date(2026, 3, 28): 1, date(2026, 3, 29): 1, date(2026, 3, 30): 1
        }  # fmt: skip
        assert await due_times(h) == prompted
        assert h.new_for("alice") == []


async def test_fall_back_0130_fires_once_the_first_time(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 10, 23, 22, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await h.say("alice", "/tz Europe/London")
        reply = await h.say("alice", "/checkin daily 01:30")
        assert (
            "Note: on 25 Oct 2026 the clocks go back and 01:30 happens twice; "
            "that day this check-in comes once, the first time."
        ) in reply
        prompted = await prompts_until(h, datetime(2026, 10, 26, 6, 0, tzinfo=UTC))

        assert prompted == [
            datetime(2026, 10, 24, 0, 30, tzinfo=UTC),  # 01:30 BST
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # the first 01:30 (BST) ...
            datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # ... not the second; 01:30 GMT
        ]
        assert per_local_day(prompted) == {
            date(2026, 10, 24): 1, date(2026, 10, 25): 1, date(2026, 10, 26): 1
        }  # fmt: skip
        assert await due_times(h) == prompted


async def test_listing_shows_the_shifted_time_on_the_spring_forward_day(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await h.say("alice", "/tz Europe/London")
        await h.say("alice", "/checkin daily 01:30")
        listing = await h.say("alice", "/checkins")
        assert listing == [
            "Your check-ins:\n#1 daily 01:30 - next Sun 29 Mar 02:30 (Europe/London)"
        ]
