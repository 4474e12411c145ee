"""Outages are told, not guessed: a 25-hour stop of the bot, on a fake clock.

The app ticks through its real ticker (which records each healthy tick), stops, and
a new app starts on the same database 25 hours later. Telegram would have dropped
any answer sent meanwhile, so nobody is told "missed": contacts are asked to check,
the defender is asked again, and the operators get one report.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.config import OpsSettings, Settings
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link, has, make_settings

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def settings(url: str) -> Settings:
    ops = OpsSettings(listen="", operator_chats=("console:ops",))
    return dataclasses.replace(make_settings(url), ops=ops)


async def tick(h: Harness, to: datetime) -> None:
    h.clock.set(to)
    await h.app.ticker.run_once()
    await h.deliver()


async def test_a_25_hour_outage_asks_contacts_to_check_and_reports_it(db_url: str) -> None:
    clock = FakeClock(T0)
    async with Harness(db_url, clock, settings=settings(db_url)) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await tick(h, T0 + timedelta(minutes=30))  # healthy at 08:30, then the bot stops
        h.clear()
    # Down from Mon 08:30 to Tue 09:30: Monday's 09:00 check-in fell due in the gap.
    clock.set(datetime(2026, 6, 2, 9, 30, tzinfo=UTC))
    async with Harness(db_url, clock, settings=settings(db_url)) as h:
        await h.deliver()
        assert h.new_for("bob") == [
            "Please check on Alice.\n"
            "Holdfast was down from Mon 01 Jun 08:30 (UTC) to Tue 02 Jun 09:30 (UTC). "
            "We could not hear from Alice in that time."
        ]
        assert h.new_for("ops") == [
            "Holdfast was down from 2026-06-01 08:30 UTC to 2026-06-02 09:30 UTC.\n"
            "1 check-ins fell due meanwhile. Their contacts are asked to check on them."
        ]
        await tick(h, clock.now())
        got = h.new_for("alice")
        assert len(got) == 1 and "are you safe" in got[0].lower()
        # Nobody is told "missed" for the outage: only a real silence from now on is.
        await tick(h, clock.now() + timedelta(minutes=29))
        assert h.new_for("bob") == [] and h.new_for("alice") == []
        await h.say("alice", "ok")
        await tick(h, clock.now() + timedelta(hours=2))
        assert not has(h.new_for("bob"), "SAFETY ALERT")
        assert h.new_for("ops") == []


async def test_an_open_checkin_gets_a_fresh_window_not_an_alert(sqlite_url: str) -> None:
    clock = FakeClock(T0)
    async with Harness(sqlite_url, clock, settings=settings(sqlite_url)) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/timer 2h")
        await tick(h, T0 + timedelta(minutes=1))
        h.clear()
    clock.set(T0 + timedelta(hours=26))  # the timer ran out while the bot was down
    async with Harness(sqlite_url, clock, settings=settings(sqlite_url)) as h:
        await h.deliver()
        assert [m.splitlines()[0] for m in h.new_for("bob")] == ["Please check on Alice."]
        prompt = h.new_for("alice")
        assert len(prompt) == 1 and "are you safe" in prompt[0].lower()
        start = clock.now()
        await tick(h, start)  # no reminder yet: the window starts again now
        await tick(h, start + timedelta(minutes=29))
        assert h.new_for("alice") == [] and h.new_for("bob") == []
        # Still silent after the fresh window and grace: now that is a real missed check-in.
        await tick(h, start + timedelta(minutes=31))
        assert has(h.new_for("alice"), "If you do not answer within 15m")
        await tick(h, start + timedelta(minutes=47))
        assert has(h.new_for("bob"), "SAFETY ALERT")


async def test_a_short_stop_within_grace_is_not_an_outage(sqlite_url: str) -> None:
    clock = FakeClock(T0)
    async with Harness(sqlite_url, clock, settings=settings(sqlite_url)) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await tick(h, T0 + timedelta(minutes=55))
        h.clear()
    clock.set(T0 + timedelta(minutes=65))  # 10 minutes down: less than the 15m grace
    async with Harness(sqlite_url, clock, settings=settings(sqlite_url)) as h:
        await h.deliver()
        assert h.new_for("bob") == [] and h.new_for("ops") == []
        await tick(h, clock.now())
        assert has(h.new_for("alice"), "are you safe")


async def test_two_processes_starting_together_tell_it_once(sqlite_url: str) -> None:
    clock = FakeClock(T0)
    async with Harness(sqlite_url, clock, settings=settings(sqlite_url)) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await tick(h, T0 + timedelta(minutes=30))
        h.clear()
    clock.set(T0 + timedelta(hours=25))
    async with (
        Harness(sqlite_url, clock, settings=settings(sqlite_url)) as a,
        Harness(sqlite_url, clock, settings=settings(sqlite_url)) as b,
    ):
        await a.deliver()
        await b.deliver()
        told = a.new_for("bob") + b.new_for("bob")
        assert [m.splitlines()[0] for m in told] == ["Please check on Alice."]
        assert len(a.new_for("ops") + b.new_for("ops")) == 1
