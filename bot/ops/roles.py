"""Roles of a process, single-holder leases (ingest leaders), and the SQLite scheduler lock.

`holdfast run --role all|ingest|worker`: a worker ticks the scheduler and drains the
outbox, and any number may run; an ingest process receives from the platforms.
Telegram polling and the Signal receive socket allow one reader each, so on
PostgreSQL the processes that may receive elect one per platform with a lease row
(`ops_leases`, `ingest:<platform>`): the holder renews it every quarter of
`ops.failover`, and it lapses three quarters of `ops.failover` after the last
renewal, so a standby takes over within `ops.failover` of the leader's death. A
clean stop gives the lease up at once. Telegram webhook mode needs no election.

SQLite has one writer and no leases worth the name: one process does everything,
and a second one on the same file is refused by an OS file lock (released by the
kernel however the first process ends).
"""

from __future__ import annotations

import asyncio
import enum
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from bot.config import Settings
from bot.ops.report import OpsEvent, report
from bot.runtime import Runtime
from bot.store import ops as ops_store
from bot.store.db import transaction

log = logging.getLogger(__name__)


class Role(enum.StrEnum):
    """What one `holdfast run` process does."""

    ALL = "all"
    INGEST = "ingest"
    WORKER = "worker"

    @property
    def ticks(self) -> bool:
        """Runs the scheduler and the outbox."""
        return self is not Role.INGEST

    @property
    def receives(self) -> bool:
        """Takes in messages from the platforms."""
        return self is not Role.WORKER


class RoleRefused(Exception):
    """This process cannot take its role; the message says why and what to do."""


def elected(settings: Settings, platform: str) -> bool:
    """Whether a platform allows one reader only (so receiving needs the lease)."""
    return platform == "signal" or (platform == "telegram" and settings.telegram.mode == "polling")


class Lease:
    """One named lease this process holds or waits for; `step` once, `run` to keep at it."""

    def __init__(
        self,
        rt: Runtime,
        name: str,
        *,
        on_gain: Callable[[], Awaitable[None]],
        on_loss: Callable[[], Awaitable[None]],
        on_change: Callable[[bool], None] = lambda leading: None,
        ttl: timedelta | None = None,
        tell: bool = True,
        keep_when_away: bool = False,
    ) -> None:
        self._rt = rt
        self.name = name
        self._on_gain = on_gain
        self._on_loss = on_loss
        self._on_change = on_change
        failover = rt.settings.ops.failover
        self.ttl = ttl if ttl is not None else failover * 3 / 4
        self.every = self.ttl / 3
        self._tell = tell  # tell the operators when this lease changes hands
        #: Keep leading while the database cannot be asked, past the lease's end. For
        #: the Signal receive socket: signal-cli drops what arrives while no client is
        #: connected, and a second reader (a standby that still reaches the database)
        #: only makes the app see a message twice, which its dedupe key absorbs.
        self._keep_when_away = keep_when_away
        self.leading = False
        #: False while the database cannot be asked (the lease lapses by itself then,
        #: and nobody else can take it meanwhile).
        self.reachable = True
        self._until: datetime | None = None

    async def step(self, now: datetime | None = None) -> bool:
        """Take or renew the lease and start or stop what it guards; returns leading."""
        now = now or self._rt.clock.now()
        try:
            held = await self._hold(now)
            self.reachable = True
        except Exception:  # the database is away: keep leading only while our lease lasts
            log.warning(
                "lease not renewed", extra={"action": "ops.lease_failed", "lease": self.name}
            )
            self.reachable = False
            held = self.leading and (
                self._keep_when_away or (self._until is not None and now < self._until)
            )
        if held and not self.leading:
            try:
                await self._on_gain()
            except Exception:
                log.exception("cannot take the role", extra={"action": "ops.lease_gain_failed",
                                                              "lease": self.name})  # fmt: skip
                await self.release()
                return False
            self._set(True)
        elif not held and self.leading:
            self._set(False)
            await self._on_loss()
        return self.leading

    async def _hold(self, now: datetime) -> bool:
        worker = self._rt.worker_id
        async with transaction(self._rt.sessions) as session:
            held, before = await ops_store.hold_lease(session, self.name, worker, now, self.ttl)
            if self._tell and held and not self.leading and before not in (None, worker):
                # The previous holder did not give it up: it died or lost the database.
                platform = self.name.partition(":")[2]
                await report(
                    session, self._rt.settings, OpsEvent.LEADER_CHANGED, now,
                    dedupe=f"{self.name}:{worker}:{now.isoformat()}",
                    platform=platform, holder=worker,
                )  # fmt: skip
        if held:
            self._until = now + self.ttl
        return held

    def _set(self, leading: bool) -> None:
        self.leading = leading
        self._on_change(leading)
        log.info(
            "lease taken" if leading else "lease lost",
            extra={"action": "ops.lease", "lease": self.name, "leading": leading},
        )

    async def run(self) -> None:
        """Renew or wait for the lease every quarter of `ops.failover`, until cancelled."""
        while True:
            await asyncio.sleep(self.every.total_seconds())
            await self.step()

    async def release(self) -> None:
        """Give the lease up (a clean stop), so a standby takes over at its next step."""
        if self.leading:
            self._set(False)
            await self._on_loss()
        try:
            async with transaction(self._rt.sessions) as session:
                await ops_store.drop_lease(session, self.name, self._rt.worker_id)
        except Exception:  # it lapses by itself
            log.warning("lease not released", extra={"action": "ops.lease_failed"})


def lock_sqlite(url: str) -> IO[str] | None:
    """Hold an exclusive lock beside the SQLite file; refuse if another process has it.

    Returns the open lock file (keep it open for the process's life), or None for an
    in-memory database.

    Raises:
        RoleRefused: another process runs the scheduler on this file.
    """
    database = url.partition(":///")[2].partition("?")[0]  # sqlite+aiosqlite:///<path>
    if not database or database == ":memory:":
        return None
    path = Path(database).expanduser().resolve()
    handle = open(path.with_name(path.name + ".holdfast-lock"), "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RoleRefused(
            f"another Holdfast process is already running on the SQLite file {path} "
            "(only one process may use an SQLite database): stop it first, or move "
            "database.url (HOLDFAST_DATABASE_URL) to PostgreSQL to run several processes"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def unlock_sqlite(handle: IO[str] | None) -> None:
    """Let the next process have the SQLite file."""
    if handle is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def check_role(settings: Settings, role: Role) -> None:
    """Refuse a role the database cannot support (SQLite: one process does everything)."""
    if role is not Role.ALL and settings.database.url.startswith("sqlite"):
        raise RoleRefused(
            f"--role {role.value} needs PostgreSQL: with SQLite one process does everything "
            "(use --role all), or set database.url (HOLDFAST_DATABASE_URL) to postgresql+asyncpg://…"
        )
