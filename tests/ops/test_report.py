"""Operator reports: each operator chat gets the event once, at alert priority, and it is logged.

The whole app runs over the console transport; operators are console chats, so the
test reads exactly what each operator received.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.config import OpsSettings, Settings
from bot.core.model import PRIORITY, MessageKind
from bot.ops.report import OpsEvent, render, report
from bot.store.db import transaction
from bot.store.models import Outbox
from tests.support.clock import FakeClock
from tests.support.harness import Harness, make_settings

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def with_operators(url: str, *chats: str) -> Settings:
    return dataclasses.replace(make_settings(url), ops=OpsSettings(operator_chats=chats))


async def tell(h: Harness, event: OpsEvent, dedupe: str, **facts: int | str) -> int:
    async with transaction(h.app.rt.sessions) as session:
        return await report(session, h.settings, event, h.clock.now(), dedupe=dedupe, **facts)


async def test_every_operator_is_told_once_per_dedupe_key(db_url: str) -> None:
    settings = with_operators(db_url, "console:ops1", "console:ops2")
    async with Harness(db_url, FakeClock(T0), settings=settings) as h:
        assert await tell(h, OpsEvent.ALERT_UNREACHABLE, "alert:7", alert_id=7, checkin_id=3) == 2
        await h.deliver()
        expected = (
            "Holdfast could not reach anyone for alert 7 (check-in 3).\n"
            "Nobody at any level got it. Check the platforms with: holdfast status"
        )
        assert h.new_for("ops1") == [expected]
        assert h.new_for("ops2") == [expected]
        # The same event seen again (a retried tick, another worker) tells nobody again.
        assert await tell(h, OpsEvent.ALERT_UNREACHABLE, "alert:7", alert_id=7, checkin_id=3) == 0
        await h.deliver()
        assert h.new_for("ops1") == [] and h.new_for("ops2") == []
        # Another alert is another report.
        assert await tell(h, OpsEvent.ALERT_UNREACHABLE, "alert:8", alert_id=8, checkin_id=4) == 2
        await h.deliver()
        assert [m.splitlines()[0] for m in h.new_for("ops1")] == [
            "Holdfast could not reach anyone for alert 8 (check-in 4)."
        ]


async def test_reports_go_at_alert_priority(sqlite_url: str) -> None:
    settings = with_operators(sqlite_url, "console:ops")
    async with Harness(sqlite_url, FakeClock(T0), settings=settings) as h:
        await tell(h, OpsEvent.SIGNAL_CAPTCHA, "captcha:1", command="holdfast signal-captcha")
        async with h.app.rt.sessions() as session:
            rows = list((await session.execute(select(Outbox))).scalars())
        assert [(r.chat_id, r.kind, r.priority) for r in rows] == [
            ("ops", "alert", PRIORITY[MessageKind.ALERT])
        ]


async def test_a_report_rolls_back_with_its_transaction(sqlite_url: str) -> None:
    settings = with_operators(sqlite_url, "console:ops")
    async with Harness(sqlite_url, FakeClock(T0), settings=settings) as h:
        with pytest.raises(RuntimeError):
            async with transaction(h.app.rt.sessions) as session:
                await report(session, settings, OpsEvent.DATABASE_DOWN, T0, dedupe="x", seconds=90)
                raise RuntimeError("the caller's change failed")
        await h.deliver()
        assert h.new_for("ops") == []
        # Nothing was recorded either: the report is made when the caller retries.
        assert await tell(h, OpsEvent.DATABASE_DOWN, "x", seconds=90, since="09:00 UTC") == 1


async def test_without_operator_chats_the_report_is_logged_once(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        caplog.set_level(logging.WARNING, logger="bot.ops.report")
        assert await tell(h, OpsEvent.OUTAGE_DETECTED, "outage:1", count=12, name="x") == 0
        assert await tell(h, OpsEvent.OUTAGE_DETECTED, "outage:1", count=12) == 0
        await h.deliver()
        assert h.console.sent == []
    records = [r for r in caplog.records if r.name == "bot.ops.report"]
    assert len(records) == 1
    (record,) = records
    assert record.levelno == logging.ERROR
    assert vars(record)["action"] == "ops.outage_detected"
    assert vars(record)["count"] == 12 and vars(record)["fact_name"] == "x"


async def test_leader_change_is_a_warning(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness(sqlite_url, FakeClock(T0)) as h:
        caplog.set_level(logging.WARNING, logger="bot.ops.report")
        await tell(h, OpsEvent.LEADER_CHANGED, "lead:2", platform="telegram", holder="b")
    assert [r.levelno for r in caplog.records if r.name == "bot.ops.report"] == [logging.WARNING]


def test_every_event_has_its_text_and_missing_facts_show_as_unknown() -> None:
    for event in OpsEvent:
        assert render(event, {}).strip()
    assert render(OpsEvent.SIGNAL_CAPTCHA, {}) == (
        "Signal wants a captcha before the bot can send again.\nLift it with: ?"
    )


def test_long_dedupe_keys_fit(sqlite_url: str) -> None:
    from bot.ops.report import _key

    long = "ops:alert_send_failing:" + "x" * 300
    assert len(_key(long)) <= 128 and _key(long) != _key(long + "y")
    assert _key("ops:a:1") == "ops:a:1"
