"""Signal messages that arrive while the database is away are kept on disk and handled later.

signal-cli keeps nothing once it has handed a message to the bot, so the transport
spools frames it cannot get recorded (a 0600 file, each line sealed) and replays them
in order, once each, when the database is back. The database is made unreachable
for real: the SQLite file is moved away and a directory put in its place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.store.models import ProcessedInbound
from tests.support.clock import FakeClock
from tests.support.harness import Harness
from tests.support.servers.fake_signal import FakeSignal
from tests.support.signal_harness import SignalSide, SignalUser, fast_signal, handled

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
PEOPLE = [
    SignalUser("Dina", "0b9c1f5e-3a2d-4c6b-8e7f-1a2b3c4d5e6f", "+15550002001"),
    SignalUser("Sam", "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9", "+15550002002"),
    SignalUser("Rana", "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", "+15550002003"),
]


@contextmanager
def database_away(h: Harness, file: Path) -> Iterator[None]:
    """The SQLite file cannot be opened until the block ends."""
    away = file.with_name("away.db")
    file.rename(away)
    file.mkdir()
    try:
        yield
    finally:
        file.rmdir()
        away.rename(file)


async def wait_for(check: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_messages_received_while_the_database_is_away_are_handled_in_order_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "holdfast.db"
    spool = tmp_path / "signal.spool"
    async with FakeSignal() as fake:
        transport = fast_signal(fake, spool=spool)
        async with Harness(
            f"sqlite+aiosqlite:///{db}", FakeClock(T0), extra_transports={"signal": transport}
        ) as h:
            await fake.wait_connected()
            side = SignalSide(h, fake)
            await h.app.engine.dispose()  # new connections must open the file again
            with database_away(h, db):
                stamps = []
                for person in PEOPLE:
                    stamps.append(await fake.push_message(person.uuid, "hello there",
                                                          source_number=person.number,
                                                          name=person.name))  # fmt: skip
                    await asyncio.sleep(0.05)
                await wait_for(lambda: spool.exists() and len(spool.read_text().splitlines()) == 3)
                await asyncio.sleep(0.3)  # the database is still away: nothing is handled
                assert spool.stat().st_mode & 0o777 == 0o600
                kept = spool.read_text()
                assert "hello there" not in kept and PEOPLE[0].number not in kept  # sealed
                assert fake.sent == []
            keys = [f"{p.uuid}:{ts}" for p, ts in zip(PEOPLE, stamps, strict=True)]
            for key in keys:
                await handled(h, "signal", key, timeout=10)
            await h.deliver()
            for person in PEOPLE:  # each message handled exactly once
                greetings = [m for m in side.inbox(person) if m.startswith("Welcome to Holdfast")]
                assert len(greetings) == 1, side.inbox(person)
            async with h.app.rt.sessions() as session:  # ... and in the order received
                found = await session.execute(
                    select(ProcessedInbound.key).order_by(ProcessedInbound.id)
                )
                assert [k for k in found.scalars() if k in keys] == keys
            assert not spool.exists()  # nothing left to replay
