"""The ops endpoint end to end: /healthz, /readyz and /metrics over HTTP, and the heartbeat.

The real app serves on 127.0.0.1 (port chosen by the OS); ticks are driven with a
fake clock, and the heartbeat goes to a fake dead-man's-switch server that records
every request, as healthchecks.io would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.config import OpsSettings
from bot.ops.health import Health
from bot.store import ops as ops_store
from tests.support.clock import FakeClock
from tests.support.harness import Harness, contact_link, make_settings

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


class FakeSwitch:
    """A dead-man's switch: counts GET /ping/<uuid>, like hc-ping.com does."""

    def __init__(self) -> None:
        self.pings: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ping/{uuid}", self._ping)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"

    async def _ping(self, request: web.Request) -> web.Response:
        self.pings.append(request.match_info["uuid"])
        return web.Response(text="OK")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def switch() -> AsyncIterator[FakeSwitch]:
    server = FakeSwitch()
    await server.start()
    yield server
    await server.stop()


async def get(h: Harness, path: str) -> tuple[int, Any]:
    port = h.app.ops_server.port if h.app.ops_server else None
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}{path}") as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()


def ops_harness(url: str, heartbeat: str = "") -> Harness:
    settings = make_settings(url)
    ops = OpsSettings(listen="127.0.0.1:0", heartbeat_url=heartbeat)
    settings = dataclasses.replace(settings, ops=ops)
    return Harness(url, FakeClock(T0), settings=settings, ops_endpoint=True)


async def tick(h: Harness, **advance: float) -> None:
    h.clock.advance(timedelta(**advance))
    await h.app.ticker.run_once()
    await h.app.health.settle()
    await h.deliver()


async def test_ready_while_ticking_and_not_once_the_scheduler_stops(
    sqlite_url: str, switch: FakeSwitch
) -> None:
    async with ops_harness(sqlite_url, switch.url) as h:
        assert await get(h, "/healthz") == (200, {"alive": True})
        status, doc = await get(h, "/readyz")
        assert status == 503 and doc["database"] is True
        assert doc["scheduler"] == {
            "running": True, "ok": False, "last_tick": None, "age_seconds": None
        }  # fmt: skip
        assert doc["platforms"] == {"console": True}

        await tick(h)
        status, doc = await get(h, "/readyz")
        assert (status, doc["ready"], doc["scheduler"]["ok"]) == (200, True, True)
        assert len(switch.pings) == 1

        await tick(h, seconds=1)
        await tick(h, seconds=30)
        assert len(switch.pings) == 1  # at most once a minute
        await tick(h, seconds=30)
        assert len(switch.pings) == 2

        # The scheduler stops: no more ticks. Within 3 ticks (3 s) it is still ready ...
        h.clock.advance(timedelta(seconds=3))
        assert (await get(h, "/readyz"))[0] == 200
        # ... after that it is not, and the dead-man's switch hears nothing more.
        h.clock.advance(timedelta(seconds=1))
        status, doc = await get(h, "/readyz")
        assert status == 503 and doc["scheduler"]["ok"] is False
        assert doc["scheduler"]["age_seconds"] == 4.0
        h.clock.advance(timedelta(minutes=5))
        await h.app.health.settle()
        assert len(switch.pings) == 2


async def test_a_failing_tick_is_not_healthy(sqlite_url: str, switch: FakeSwitch) -> None:
    async with ops_harness(sqlite_url, switch.url) as h:

        async def broken(*_: object) -> None:
            raise RuntimeError("database went away")

        h.app.ticker._run = broken
        await tick(h)
        assert (await get(h, "/readyz"))[0] == 503
        assert switch.pings == []


async def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"
    async with ops_harness(url) as h:
        await tick(h)
        assert (await get(h, "/readyz"))[0] == 200
        await h.app.engine.dispose()  # new connections must open the file again
        (tmp_path / "db.sqlite").rename(tmp_path / "away.sqlite")
        (tmp_path / "db.sqlite").mkdir()  # a directory where the file was: cannot be opened
        try:
            status, doc = await get(h, "/readyz")
        finally:
            (tmp_path / "db.sqlite").rmdir()
            (tmp_path / "away.sqlite").rename(tmp_path / "db.sqlite")
        assert status == 503 and doc["database"] is False


async def test_metrics_count_backlog_sends_and_ticks_without_personal_data(
    db_url: str,
) -> None:
    async with ops_harness(db_url) as h:
        await h.say("alice", "/start")
        await h.say("bob", "/start")
        await contact_link(h, "alice", "bob")
        await h.say("alice", "/checkin daily 10:00")
        await tick(h, hours=1)  # the prompt goes out
        await tick(h, minutes=30)  # late: a reminder
        await tick(h, minutes=15)  # missed: the alert to bob is queued and sent
        assert any("SAFETY ALERT" in m for m in h.new_for("bob"))
        status, body = await get(h, "/metrics")
        assert status == 200
        assert 'holdfast_sends_total{outcome="sent",platform="console"}' in body
        assert "holdfast_tick_seconds_count 3.0" in body
        assert 'holdfast_open_alerts{level="1"} 1.0' in body
        assert 'holdfast_outbox_backlog{kind="alert"} 0.0' in body
        assert "holdfast_oldest_unsent_alert_seconds 0.0" in body
        assert 'holdfast_due_backlog{what="schedules"} 0.0' in body
        assert "holdfast_unacknowledged_alerts_overdue 0.0" in body
        assert "holdfast_database_up 1.0" in body
        assert "holdfast_last_tick_timestamp_seconds" in body
        for personal in ("alice", "bob", "console:"):
            assert personal not in body.lower()
        h.clock.advance(timedelta(hours=3))
        _, body = await get(h, "/metrics")
        assert "holdfast_unacknowledged_alerts_overdue 1.0" in body


async def test_status_shows_a_running_deployment_on_one_screen(db_url: str) -> None:
    from bot.ops import status

    async with ops_harness(db_url) as h:
        port = h.app.ops_server.port if h.app.ops_server else 0
        settings = dataclasses.replace(h.settings, ops=OpsSettings(listen=f"127.0.0.1:{port}"))
        await tick(h)
        await h.say("alice", "/start")
        code, screen = await status.run(settings, h.clock.now())
        assert code == 0, screen
        lines = screen.splitlines()
        assert lines[0] == "Holdfast status at 2026-06-01 09:00:00 UTC: READY"
        assert lines[1] == ("  this host: ready; database ok; scheduler ok; platforms: console up")
        assert "  last healthy tick: 0s ago" in lines
        assert "  unsent messages: none" in lines
        assert "  operators told (24h): none" in lines
        assert "alice" not in screen.lower()

        h.clock.advance(timedelta(minutes=2))  # the scheduler has stopped ticking
        code, screen = await status.run(settings, h.clock.now())
        assert code == 1
        assert screen.splitlines()[0].endswith("NOT READY")
        assert "scheduler STALE" in screen and "last healthy tick: 2m ago (STALE)" in screen


def test_status_without_a_running_bot_says_so(
    tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    monkeypatch.setenv("HOLDFAST_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/h.db")
    monkeypatch.setenv("HOLDFAST_OPS_LISTEN", "127.0.0.1:1")  # nothing listens there
    assert main(["migrate"]) == 0
    code = main(["status"])
    out = capsys.readouterr()
    assert code == 1
    assert "this host: no answer on 127.0.0.1:1 (ClientConnectorError)" in out.out
    assert "last healthy tick: never (STALE)" in out.out


async def test_a_database_away_over_a_minute_is_told_when_it_is_back(sqlite_url: str) -> None:
    settings = dataclasses.replace(
        make_settings(sqlite_url), ops=OpsSettings(listen="", operator_chats=("console:ops",))
    )
    async with Harness(sqlite_url, FakeClock(T0), settings=settings) as h:
        real = h.app.ticker._run

        async def away(*_: object) -> None:
            raise ConnectionRefusedError("database away")

        h.app.ticker._run = away
        for _ in range(3):
            await tick(h, seconds=30)  # failing from 09:00:30 to 09:01:30
        h.app.ticker._run = real
        await tick(h, seconds=30)  # back at 09:02:00, after 90 s
        assert h.new_for("ops") == [
            "Holdfast could not reach its database for 90 seconds (since 2026-06-01 09:00:30 UTC)."
            " It is back now.\nCheck-ins and alerts waited meanwhile. Check the database server."
        ]
        # A shorter outage is only logged.
        h.app.ticker._run = away
        await tick(h, seconds=30)
        h.app.ticker._run = real
        await tick(h, seconds=30)
        assert h.new_for("ops") == []


async def test_a_database_away_over_a_minute_is_told_while_it_lasts_once(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"
    settings = dataclasses.replace(
        make_settings(url), ops=OpsSettings(listen="", operator_chats=("console:ops",))
    )
    async with Harness(url, FakeClock(T0), settings=settings) as h:
        await tick(h)
        await h.app.engine.dispose()  # new connections must open the file again
        (tmp_path / "db.sqlite").rename(tmp_path / "away.sqlite")
        (tmp_path / "db.sqlite").mkdir()  # a directory where the file was: cannot be opened
        try:
            for _ in range(3):
                await h.app.ticker.run_once(h.clock.advance(timedelta(seconds=30)))
            assert h.new_for("ops") == []  # away since 09:00:30: a minute, not over it
            await h.app.ticker.run_once(h.clock.advance(timedelta(seconds=30)))
            away = [
                "Check the database server now. Holdfast cannot reach its database since "
                "2026-06-01 09:00:30 UTC (90 seconds).\nCheck-ins and alerts are waiting. "
                "You will get another message when it is back."
            ]
            assert h.new_for("ops") == away  # told while it is away, straight from memory
            for _ in range(4):
                await h.app.ticker.run_once(h.clock.advance(timedelta(seconds=30)))
            assert h.new_for("ops") == []  # once per outage
        finally:
            (tmp_path / "db.sqlite").rmdir()
            (tmp_path / "away.sqlite").rename(tmp_path / "db.sqlite")
        await tick(h, seconds=30)  # back at 09:04:30
        assert h.new_for("ops") == [
            "Holdfast could not reach its database for 240 seconds (since 2026-06-01 09:00:30 "
            "UTC). It is back now.\nCheck-ins and alerts waited meanwhile. Check the database "
            "server."
        ]
        async with h.app.rt.sessions() as session:  # what was told meanwhile is on record
            events = [e for e, _ in await ops_store.recent_reports(session, T0)]
        assert sorted(events) == ["database_away", "database_down"]
        await tick(h, seconds=30)
        assert h.new_for("ops") == []


async def test_several_workers_back_from_one_outage_tell_it_once(sqlite_url: str) -> None:
    settings = dataclasses.replace(
        make_settings(sqlite_url), ops=OpsSettings(listen="", operator_chats=("console:ops",))
    )
    async with Harness(sqlite_url, FakeClock(T0), settings=settings) as h:
        workers = [h.app.health, Health(dataclasses.replace(h.app.rt, worker_id="b:2"), {})]
        for offset, worker in enumerate(workers):  # each notices from its own first tick
            await worker.on_tick(T0 + timedelta(seconds=30 + offset), 0.1, False)
        for offset, worker in enumerate(workers):
            await worker.on_tick(T0 + timedelta(seconds=120 + offset), 0.1, True)
        h.clock.advance(timedelta(seconds=125))
        await h.deliver()
        told = h.new_for("ops")
        assert len(told) == 1 and "It is back now." in told[0], told


async def test_an_update_is_held_while_the_database_is_away(sqlite_url: str) -> None:
    from sqlalchemy.exc import OperationalError

    from bot.app import holding
    from bot.transports.base import StoreUnavailable

    async def away(_: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    async def bug(_: object) -> None:
        raise ValueError("a handler bug")

    with pytest.raises(StoreUnavailable):
        await holding(away)(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await holding(bug)(None)  # type: ignore[arg-type]
