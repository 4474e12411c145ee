"""Roles and leases: one ingest leader per platform, a standby that takes over, one SQLite process.

Leases are stepped by hand with a fake clock (two runtimes on one database stand in
for two processes); the SQLite lock is taken by two real apps in this process,
which the OS treats like two processes (flock locks belong to open files).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.config import OpsSettings, Settings
from bot.ops.roles import Lease, Role, RoleRefused, check_role
from bot.runtime import Runtime
from bot.store.db import create_engine, session_factory
from bot.store.migrate import upgrade
from bot.transports.console import ConsoleTransport
from tests.support.clock import FakeClock
from tests.support.harness import Harness, make_settings

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def settings(url: str) -> Settings:
    ops = OpsSettings(listen="", operator_chats=("console:ops",), failover=timedelta(seconds=15))
    return dataclasses.replace(make_settings(url), ops=ops)


def away() -> None:
    """A session factory while the database is unreachable (no driver thread left behind)."""
    raise OSError("the database is away")


class Process:
    """What a lease guards in one process: whether it is receiving, and each change."""

    def __init__(self, rt: Runtime, platform: str = "telegram") -> None:
        self.receiving = False
        self.events: list[str] = []
        self.lease = Lease(rt, f"ingest:{platform}", on_gain=self.gain, on_loss=self.loss,
                           keep_when_away=platform == "signal")  # fmt: skip

    async def gain(self) -> None:
        self.receiving = True
        self.events.append("gain")

    async def loss(self) -> None:
        self.receiving = False
        self.events.append("loss")


async def test_a_standby_takes_over_within_failover_and_operators_are_told(db_url: str) -> None:
    clock = FakeClock(T0)
    async with Harness(db_url, clock, settings=settings(db_url)) as h:
        rt = h.app.rt
        engine = create_engine(db_url)
        try:
            other = dataclasses.replace(rt, sessions=session_factory(engine), worker_id="b:2")
            a = Process(dataclasses.replace(rt, worker_id="a:1"))
            b = Process(other)
            assert await a.lease.step() is True
            assert await b.lease.step() is False
            for _ in range(8):  # the leader renews every failover/4; the standby waits
                clock.advance(a.lease.every)
                assert await a.lease.step() and not await b.lease.step()
            # The leader dies (no more renewals). Within ops.failover the standby leads.
            died = clock.now()
            while not await b.lease.step():
                clock.advance(b.lease.every)
                assert clock.now() - died <= timedelta(seconds=15)
            assert (a.events, b.events) == (["gain"], ["gain"])
            await h.deliver()
            assert h.new_for("ops") == [
                "Process b:2 now receives telegram messages.\n"
                "The one before it stopped. Check why with: holdfast status"
            ]
            # The old leader comes back: it finds the lease taken and stops receiving.
            assert await a.lease.step() is False
            assert a.events == ["gain", "loss"] and not a.receiving
            # A clean stop hands over at once, and that is no news for the operators.
            await b.lease.release()
            assert await a.lease.step() is True
            await h.deliver()
            assert h.new_for("ops") == []
        finally:
            await engine.dispose()


async def test_a_leader_without_database_stops_receiving_when_its_lease_ends(
    sqlite_url: str,
) -> None:
    clock = FakeClock(T0)
    async with Harness(sqlite_url, clock, settings=settings(sqlite_url)) as h:
        a = Process(h.app.rt)
        assert await a.lease.step()
        await h.app.engine.dispose()
        a.lease._rt = dataclasses.replace(h.app.rt, sessions=away)
        clock.advance(a.lease.every)
        assert await a.lease.step() is True  # its lease still runs: keep receiving
        clock.advance(a.lease.ttl)
        assert await a.lease.step() is False  # no longer sure to be the only reader
        assert a.events == ["gain", "loss"]


async def test_a_second_process_on_one_sqlite_file_is_refused(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    await engine.dispose()
    first = App(make_settings(sqlite_url), transports={"console": quiet()})
    await first.start()
    try:
        second = App(make_settings(sqlite_url), transports={"console": quiet()})
        with pytest.raises(RoleRefused, match="another Holdfast process is already running"):
            await second.start()
        await second.stop()
    finally:
        await first.stop()
    third = App(make_settings(sqlite_url), transports={"console": quiet()})
    await third.start()  # the first one stopped: the file is free again
    await third.stop()


def quiet() -> ConsoleTransport:
    class Null:
        def write(self, _: str) -> int:
            return 0

        def flush(self) -> None:
            pass

    return ConsoleTransport(read_stdin=False, output=Null())


@pytest.mark.parametrize("role", [Role.INGEST, Role.WORKER])
def test_split_roles_need_postgresql(role: Role) -> None:
    with pytest.raises(RoleRefused, match=f"--role {role.value} needs PostgreSQL"):
        check_role(Settings(), role)
    check_role(Settings(), Role.ALL)


async def test_the_signal_reader_keeps_receiving_while_the_database_is_away(
    sqlite_url: str,
) -> None:
    """signal-cli drops what arrives with no reader; the spool keeps it meanwhile."""
    clock = FakeClock(T0)
    async with Harness(sqlite_url, clock, settings=settings(sqlite_url)) as h:
        a = Process(h.app.rt, "signal")
        assert await a.lease.step()
        await h.app.engine.dispose()
        a.lease._rt = dataclasses.replace(h.app.rt, sessions=away)
        for _ in range(3):
            clock.advance(a.lease.ttl)
            assert await a.lease.step() is True  # long past its lease: still reading
        assert a.events == ["gain"] and a.receiving
        a.lease._rt = h.app.rt  # the database is back and the lease still ours
        assert await a.lease.step() is True
        assert a.events == ["gain"]
