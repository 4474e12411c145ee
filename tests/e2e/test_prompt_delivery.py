"""The clock starts when the defender can see the prompt (issue 9), told as stories.

Alice is the defender, Bob her trusted contact, "ops" the operators' chat. Defaults:
window 30m, grace 15m. The fake platform holds Alice's prompt back (a rate limit) or
refuses her chat for good (blocked the bot), exactly when a story says so.
"""

from __future__ import annotations

import dataclasses

from bot.config import OpsSettings
from bot.transports.base import RateLimited, RecipientUnreachable
from tests.e2e.test_escalation import MIN, NINE, T0, Story
from tests.support.clock import FakeClock
from tests.support.fakes import FakeTransport
from tests.support.harness import Harness, make_settings

MISSED = "SAFETY ALERT: Alice has not checked in"
UNREACHED = (
    "SAFETY ALERT: We could not reach Alice to ask if they are OK. Their check-in "
    "message, due 45m ago, has not reached their phone."
)


class OpsStory(Story):
    """A story whose operators read the chat "ops" on the fake platform."""

    def __init__(self, url: str) -> None:
        self.fake = FakeTransport("fake")
        settings = dataclasses.replace(
            make_settings(url), ops=OpsSettings(listen="", operator_chats=("fake:ops",))
        )
        self.h = Harness(
            url, FakeClock(T0), settings=settings, extra_transports={"fake": self.fake}
        )
        self._seen: dict[str, int] = {}


async def test_a_prompt_held_back_gives_the_full_window_from_its_delivery(sqlite_url: str) -> None:
    async with OpsStory(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/checkin daily 09:00")
        s.clear()
        s.fake.fail_next(RateLimited(20 * 60), chat="alice")  # the platform holds it 20 minutes
        await s.until(NINE + 15 * MIN)
        assert s.new("alice") == []
        await s.until(NINE + 20 * MIN)
        assert s.heads("alice") == ["Check-in"]  # delivered at 09:20: answer by 09:50
        await s.until(NINE + 50 * MIN - MIN)
        assert s.new("alice") == [] and s.new("bob") == []  # queued at 09:00, due 09:30: no
        await s.until(NINE + 50 * MIN)
        assert s.heads("alice") == ["Reminder"]
        await s.until(NINE + 65 * MIN - MIN)
        assert s.new("bob") == []  # 15 minutes of grace from the reminder
        await s.until(NINE + 65 * MIN)
        [alert] = s.new("bob")
        assert alert.startswith(MISSED)
        assert s.new("ops") == []


async def test_a_prompt_held_longer_than_window_and_grace_raises_no_missed_alert(
    sqlite_url: str,
) -> None:
    async with OpsStory(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/checkin daily 09:00")
        s.clear()
        s.fake.fail_next(RateLimited(50 * 60), chat="alice")  # held back until 09:50
        await s.until(NINE + 45 * MIN - MIN)
        assert s.new("bob") == [] and s.new("alice") == []
        await s.until(NINE + 45 * MIN)  # when a missed alert would go: the truth instead
        [alert] = s.new("bob")
        assert alert.startswith(UNREACHED) and MISSED not in alert
        [report] = s.new("ops")
        assert report.startswith("A check-in prompt could not be delivered on fake")
        await s.until(NINE + 50 * MIN)
        assert s.heads("alice") == ["Check-in"]  # it arrives at last
        s.clear()
        await s.until(NINE + 50 * MIN + 30 * MIN - MIN)  # her full window from delivery
        assert not any(MISSED in m for m in s.new("bob"))
        reply = await s.say("alice", "ok")
        assert reply[0].startswith("Thank you, you are checked in")
        assert s.heads("bob") == ["ALL CLEAR"]


async def test_an_undeliverable_prompt_tells_contacts_and_operators_the_truth(
    sqlite_url: str,
) -> None:
    async with OpsStory(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/checkin daily 09:00")
        s.clear()
        s.fake.fail_next(RecipientUnreachable("bot was blocked by the user"), 5, chat="alice")
        await s.until(NINE + 45 * MIN - MIN)  # refused at once; nobody told before 09:45
        assert s.new("bob") == [] and s.new("ops") == [] and s.new("alice") == []
        await s.until(NINE + 45 * MIN)
        [alert] = s.new("bob")
        assert alert.startswith(UNREACHED)
        assert "has not checked in" not in alert and "reminder" not in alert
        [report] = s.new("ops")
        assert report.startswith("A check-in prompt could not be delivered on fake")
        assert "Alice" not in report
        await s.until(NINE + 60 * MIN)
        assert s.heads("bob") == ["REPEAT (1 of 3)"]  # an alert like any other
        assert s.new("ops") == []  # told once


async def test_the_grace_counts_from_the_reminders_delivery(sqlite_url: str) -> None:
    async with OpsStory(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.say("alice", "/checkin daily 09:00")
        s.clear()
        await s.until(NINE + 30 * MIN - MIN)
        assert s.heads("alice") == ["Check-in"]
        s.fake.fail_next(RateLimited(10 * 60), chat="alice")  # the reminder is held 10 minutes
        await s.until(NINE + 40 * MIN, step=MIN)
        assert s.heads("alice") == ["Reminder"]  # delivered at 09:40: 15 minutes from then
        await s.until(NINE + 55 * MIN - MIN, step=MIN)
        assert s.new("bob") == []  # not at 09:45
        await s.until(NINE + 55 * MIN, step=MIN)
        [alert] = s.new("bob")
        assert alert.startswith(MISSED)
