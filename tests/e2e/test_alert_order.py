"""Alerts always go before routine prompts (issue 9): a tick where check-in prompts and
missed check-ins fall due at one instant, delivered by a worker that sends whatever is
committed, the moment it is committed (as the background delivery task does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.scheduler import due
from tests.e2e.test_escalation import Story

NINE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


async def test_a_burst_sends_every_alert_before_any_prompt(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Story(sqlite_url) as s:
        await s.contacts("alice", "bob")
        await s.contacts("dora", "erik")
        await s.people("carol", "fred")
        for defender in ("alice", "dora"):  # prompted 08:15, reminded 08:45, alert at 09:00
            await s.say(defender, "/checkin daily 08:15")
        for person in ("carol", "fred"):  # prompted at 09:00
            await s.say(person, "/checkin daily 09:00")
        await s.until(NINE - timedelta(minutes=5))
        s.clear()

        def delivering(batch: Any) -> Any:  # a delivery worker beside the tick
            async def run(*args: Any) -> Any:
                result = await batch(*args)
                await s.h.deliver()
                return result

            return run

        monkeypatch.setattr(due, "_checkin_batch", delivering(due._checkin_batch))
        monkeypatch.setattr(due, "_schedule_batch", delivering(due._schedule_batch))
        s.h.clock.set(NINE)
        start = len(s.fake.sent)
        await s.h.tick()
        order = [o.to.chat_id for o in s.fake.sent[start:]]
        assert sorted(order[:2]) == ["bob", "erik"] and sorted(order[2:]) == ["carol", "fred"]
        assert s.heads("bob") == ["SAFETY ALERT"] and s.heads("carol") == ["Check-in"]
