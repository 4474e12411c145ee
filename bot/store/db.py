"""Async engine and sessions; SQLite tuned for durability, PostgreSQL for many workers.

PostgreSQL: connections checked before use (a restarted server is reconnected, not
fatal) and custom query plans for every statement (see `create_engine`).

SQLite: WAL journal, `synchronous=FULL` (an acknowledged check-in survives a power
cut), foreign keys on, `secure_delete` (erased data is overwritten), a busy
timeout, and every transaction opened with
`BEGIN IMMEDIATE` so two writers queue up instead of failing half-way (the
SQLAlchemy "serializable isolation / savepoints" recipe for pysqlite/aiosqlite).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Result, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine for `database.url` with the durability settings above.

    `hide_parameters`: SQL errors and DEBUG logs never show bound values (sealed
    text, blind indexes, ids that link people).
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        private_file(make_url(url).database or "")
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    # asyncpg prepares every statement, and after five runs PostgreSQL may switch a
    # prepared statement to a generic plan. A claim first planned on an empty outbox
    # then keeps a plan that scans thousands of rows once the backlog grows (measured:
    # 25 ms became 3 s at 4,000 pending). Custom plans cost a little planning per
    # statement and keep claim time flat as the backlog grows (bench/scale.py).
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("server_settings", {}).setdefault(
        "plan_cache_mode", "force_custom_plan"
    )
    return create_async_engine(url, **kwargs)


def private_file(path: str) -> None:
    """Create the SQLite file 0600 before SQLite does (its -wal and -shm copy the mode).

    An existing file readable by other users is left as it is, with a warning that
    names the fix: changing an operator's file modes behind their back is not ours.
    """
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "the database file can be read by other users; run: chmod 600 on it and "
                "its -wal and -shm files",
                extra={"action": "app.database_file_mode", "mode": oct(mode & 0o777)},
            )
        return
    except OSError:
        return  # no such folder, or not writable: SQLite's own error names the path
    os.close(fd)


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
            # Erased rows (/forgetme, retention) are overwritten, not left in free pages.
            "PRAGMA secure_delete=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (we read results after writing)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any exception."""
    async with sessions() as session, session.begin():
        yield session


def affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched.

    SQLAlchemy types `execute` as returning a plain `Result`; for these statements it
    is the cursor result, which carries `rowcount`.
    """
    return int(cast("CursorResult[Any]", result).rowcount or 0)
