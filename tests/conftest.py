"""Shared fixtures: a clean environment, no network beyond loopback, test databases."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from tests.support.clock import FakeClock

PG_URL = os.environ.get("HOLDFAST_TEST_DATABASE_URL", "")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read the developer's HOLDFAST_* settings, nor their key file.

    Without a configured key, `run` and `console` make a key file in the user's
    configuration folder: in tests that is a fresh folder, never the real one.
    """
    for name in list(os.environ):
        if name.startswith("HOLDFAST_") and name != "HOLDFAST_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            pass
        raise RuntimeError(f"test tried to reach {host}: only 127.0.0.1 is allowed in tests")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail loudly on any network access beyond loopback (PTB's OfflineRequest idea)."""

    def connect(self: socket.socket, address: object) -> None:
        _check(address)
        return _real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        _check(address)
        return _real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 6, 1, 6, 0, tzinfo=UTC))


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/holdfast.db"


async def _fresh_pg() -> str:
    from sqlalchemy import text

    from bot.store.db import create_engine

    engine = create_engine(PG_URL)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[str]:
    """A fresh database: a SQLite file, and PostgreSQL when HOLDFAST_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set HOLDFAST_TEST_DATABASE_URL to run this case")
    yield await _fresh_pg()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
