"""One sender's flood costs that sender: everyone else's SOS goes out as usual.

Mallory sends 100 messages a second for 30 seconds (3,000 in all, on the fake
clock); Alice sends SOS in the middle. The flood guard drops Mallory's excess before
any database work: she gets one "slow down", and only what a person could type is
handled. Alice's alert reaches Bob on the very next delivery.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core.flood import FloodGuard, Verdict
from bot.logging import setup
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link, has

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


async def test_a_flood_costs_the_flooder_and_delays_no_sos(sqlite_url: str) -> None:
    clock = FakeClock(T0)
    async with Harness(sqlite_url, clock) as h:
        await contact_link(h, "alice", "bob")
        h.clear()
        for i in range(3000):
            h.console.user = "mallory"
            clock.advance(timedelta(milliseconds=10))
            await h.console.feed(f"/status {i}")
            if i == 1500:
                h.console.user = "alice"
                await h.console.feed("/sos")
                await h.deliver()
                assert has(h.new_for("bob"), "SOS"), "the SOS must not wait behind the flood"
        await h.deliver()
        got = h.new_for("mallory")
        slow = [m for m in got if "Too many messages at once" in m]
        handled = len(got) - len(slow)
        assert len(slow) == 1
        # 20 at once, then one a second for 30 s: what a person could type, no more.
        assert 20 <= handled <= 20 + 30 + 1, handled


def test_the_bucket_refills_and_warns_again_after_a_pause() -> None:
    guard = FloodGuard(burst=5, rate=1.0)
    me = ("console", "m")
    assert [guard.check(me, 0.0) for _ in range(7)] == [Verdict.HANDLE] * 5 + [
        Verdict.WARN,
        Verdict.DROP,
    ]
    assert guard.check(("console", "other"), 0.0) is Verdict.HANDLE  # others are untouched
    assert guard.check(me, 1.0) is Verdict.HANDLE  # one token a second
    assert guard.check(me, 1.0) is Verdict.DROP
    assert [guard.check(me, 60.0) for _ in range(6)][-1] is Verdict.WARN  # a new flood
    assert guard.check(me, 50.0) is Verdict.DROP  # a clock set back adds nothing


async def test_debug_logs_and_sql_errors_never_show_bound_values(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    setup(logging.DEBUG)  # what `holdfast run` does with debug logging
    root.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        async with h.app.rt.sessions() as session, session.begin():
            with pytest.raises(IntegrityError) as raised:
                await session.execute(
                    text("INSERT INTO users (id, display_name) VALUES (:i, :n)"),
                    {"i": 1, "n": "+15550100777"},
                )
    assert "+15550100777" not in str(raised.value)
    leaks = [r.name for r in caplog.records if "+15550100777" in r.getMessage()]
    root.handlers[:], root.level = saved
    assert caplog.records, "debug logging was on"
    assert leaks == []
