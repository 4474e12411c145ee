"""SPEC.md's check-in lifecycle, told as stories: what each person receives, when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link, has


async def test_daily_checkin_in_bangkok_fires_at_nine_local(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 0, 0, tzinfo=UTC))  # 07:00 in Bangkok
    async with Harness(sqlite_url, clock) as h:
        await h.say("alice", "/tz Asia/Bangkok")
        reply = await h.say("alice", "/checkin daily 09:00")
        assert has(reply, "Next: Mon 01 Jun 09:00 (Asia/Bangkok)")
        await h.run_until(datetime(2026, 6, 1, 1, 59, tzinfo=UTC))
        assert not has(h.new_for("alice"), "are you safe")
        await h.run_until(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))  # 09:00 +07
        assert [m for m in h.new_for("alice") if "are you safe" in m]


async def test_silence_alerts_every_accepted_contact_and_nobody_else(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        await contact_link(h, "alice", "carol")
        invite = await h.say("alice", "/invite Dan")  # dan never answers: pending
        code = invite[-1].split()[-1]
        await h.say("erin", f"/start {code}")
        await h.say("erin", f"decline {code}")  # erin declines
        await h.say("alice", "/checkin daily 09:00")
        h.clear()
        await h.run_until(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        assert has(h.new_for("alice"), "are you safe")
        await h.run_until(datetime(2026, 6, 1, 9, 30, tzinfo=UTC))  # window over
        assert has(h.new_for("alice"), "Reminder")
        assert not h.new_for("bob")
        await h.run_until(datetime(2026, 6, 1, 9, 45, tzinfo=UTC))  # grace over
        for contact in ("bob", "carol"):
            got = h.new_for(contact)
            assert len(got) == 1 and "SAFETY ALERT: Alice has not checked in" in got[0]
        assert h.new_for("dan") == [] and h.new_for("erin") == []
        assert not has(h.new_for("alice"), "ALERT")


async def test_answer_before_window_ends_means_no_reminder(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 9, 10, tzinfo=UTC))
        reply = await h.say("alice", "ok 4 fine")
        assert has(reply, "checked in")
        h.clear()
        await h.run_until(datetime(2026, 6, 1, 11, 0, tzinfo=UTC))
        assert h.new_for("alice") == [] and h.new_for("bob") == []


async def test_answer_after_reminder_means_no_alert(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 9, 35, tzinfo=UTC))
        assert has(h.new_for("alice"), "Reminder")
        await h.say("alice", "/ok")
        h.clear()
        await h.run_until(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
        assert h.new_for("bob") == []


async def test_ack_tells_the_others_and_answer_sends_all_clear(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        await contact_link(h, "alice", "carol")
        await h.say("alice", "/checkin daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 9, 46, tzinfo=UTC))
        assert has(h.new_for("bob"), "SAFETY ALERT") and has(h.new_for("carol"), "SAFETY ALERT")
        reply = await h.say("bob", "/ack")
        assert has(reply, "The others alerted know you are on it")
        assert h.new_for("carol") == ["Someone alerted is handling the alert for Alice."]
        assert not has(h.new_for("alice"), "Bob")  # the defender's phone learns nothing
        await h.say("alice", "ok")
        for contact in ("bob", "carol"):
            assert h.new_for(contact) == ["ALL CLEAR: Alice has checked in and is safe."]


async def test_no_contacts_warns_at_checkin_and_in_status(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        assert has(await h.say("alice", "/checkin daily 09:00"), "nobody would be alerted")
        assert has(await h.say("alice", "/status"), "nobody would be alerted")
        await contact_link(h, "alice", "bob")
        assert not has(await h.say("alice", "/status"), "nobody would be alerted")


async def test_edited_old_ok_does_not_count(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 09:00")
        await h.run_until(datetime(2026, 6, 1, 9, 20, tzinfo=UTC))
        h.clear()
        reply = await h.say("alice", "/ok", edited=True)
        assert reply == [
            "That did not count. Edited messages are ignored. Please send a new message."
        ]
        reply = await h.say("alice", "ok", forwarded=True)
        assert has(reply, "Forwarded messages do not count")
        await h.run_until(datetime(2026, 6, 1, 9, 46, tzinfo=UTC))
        assert has(h.new_for("bob"), "SAFETY ALERT")


async def test_timer_runs_out_then_alerts(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        reply = await h.say("alice", "/timer 2h meeting at the ministry")
        assert has(reply, "Timer set for 2h")
        await h.advance(timedelta(hours=1, minutes=59))
        assert h.new_for("alice") == []
        await h.advance(minutes=1)
        assert has(h.new_for("alice"), "safe-arrival timer has run out")
        await h.advance(minutes=15)
        got = h.new_for("bob")
        assert len(got) == 1 and "safe-arrival timer" in got[0]
        assert "meeting at the ministry" in got[0]


async def test_timer_cancel_and_ok_before_it_runs_out(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/timer 1h")
        assert await h.say("alice", "/timer cancel") == ["Timer cancelled."]
        await h.say("alice", "/timer 30m")
        await h.say("alice", "ok")
        h.clear()
        await h.advance(hours=3)
        assert h.new_for("alice") == [] and h.new_for("bob") == []


async def test_every_6h(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness(sqlite_url, clock) as h:
        await h.say("alice", "/checkin every 6h")
        h.clear()
        prompts = []
        for _ in range(24 * 6):  # one day in 10-minute ticks
            await h.advance(minutes=10)
            if has(h.new_for("alice"), "are you safe"):
                prompts.append(clock.now())
                await h.say("alice", "ok 3")
        assert [p.hour for p in prompts] == [14, 20, 2, 8]
