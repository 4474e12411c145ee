"""Composition root: engine, runtime, router, transports, delivery, ticker.

Start order: database (schema checked or migrated) → transports (receiving, so a
backlog of answers is taken in) → delivery → the ticker. Stop order is the reverse.
Libraries never own the loop: one `asyncio.run` in the CLI, tasks kept by the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from typing import IO

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.core.model import Incoming
from bot.delivery import Delivery
from bot.handlers import ROUTES, Router, account, checkins
from bot.i18n import has, t
from bot.ops.health import Health
from bot.ops.outage import tell_if_outage
from bot.ops.roles import Lease, Role, check_role, elected, lock_sqlite, unlock_sqlite
from bot.ops.server import OpsServer
from bot.runtime import Runtime
from bot.scheduler.tick import Ticker
from bot.store import crypto, keycheck
from bot.store.claims import OUTBOX_LEASE
from bot.store.db import create_engine, session_factory
from bot.store.migrate import ensure_schema
from bot.transports import build_transports
from bot.transports.base import OnIncoming, StoreUnavailable, Transport

log = logging.getLogger(__name__)


def holding(handle: OnIncoming) -> OnIncoming:
    """Turn "the database is unreachable" into `StoreUnavailable` for the transports.

    A transport then holds the update (never confirming it to the platform) and
    retries without limit, instead of counting it as a message that keeps failing.
    """

    async def on_incoming(incoming: Incoming) -> None:
        try:
            await handle(incoming)
        except (OperationalError, InterfaceError, OSError, SATimeout, TimeoutError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(type(exc).__name__) from exc
            raise

    return on_incoming


class NoPlatformConfigured(Exception):
    """`holdfast run` with neither Telegram nor Signal configured."""


def command_menu() -> list[tuple[str, str]]:
    """(command, description) pairs for platforms with a command menu."""
    return [(name, t(f"menu.{name}")) for name in ROUTES if has(f"menu.{name}")]


class App:
    """One running Holdfast: every configured transport in one process and database."""

    def __init__(
        self,
        settings: Settings,
        *,
        transports: Mapping[str, Transport] | None = None,
        clock: Clock | None = None,
        engine: AsyncEngine | None = None,
        background: bool = True,
        ops_endpoint: bool | None = None,
        role: Role = Role.ALL,
    ) -> None:
        self.settings = settings
        self.role = role
        self.engine = engine or create_engine(settings.database.url)
        self.transports: dict[str, Transport] = dict(
            transports if transports is not None else build_transports(settings, command_menu())
        )
        self.rt = Runtime(
            settings=settings,
            sessions=session_factory(self.engine),
            clock=clock or SystemClock(),
            numbered_platforms=frozenset(
                p for p, tr in self.transports.items() if tr.numbered_choices
            ),
        )
        self.router = Router(
            self.rt, ROUTES, account.first_contact,
            on_answer=checkins.on_answer, is_sos=checkins.is_sos,
        )  # fmt: skip
        self.on_incoming = holding(self.router.handle)
        self.rt.run_deferred = self.router.run_deferred
        self.delivery = Delivery(self.rt, self.transports)
        self.rt.on_queued = self.delivery.wake
        self.health = Health(self.rt, self.transports, scheduler=role.ticks)
        self.rt.on_outcome = self.health.count_send
        self.ticker = Ticker(self.rt, on_tick=self.health.on_tick)
        serve = background if ops_endpoint is None else ops_endpoint
        self.ops_server = (
            OpsServer(self.health, settings.ops.listen) if serve and settings.ops.listen else None
        )
        self._background = background
        self._delivery_task: asyncio.Task[None] | None = None
        self._started: list[Transport] = []
        self.leases: list[Lease] = []
        self._lease_tasks: list[asyncio.Task[None]] = []
        self._sqlite_lock: IO[str] | None = None
        self._sending: set[str] = set()  # platforms this process last sent for (elected)

    async def start(self) -> None:
        """Bring everything up; returns once running.

        Raises:
            RoleRefused: the role cannot run here (SQLite: one process per file).
        """
        if not self.settings.security.secret_key:
            raise ValueError("App needs security.secret_key; cli.with_key supplies one")
        crypto.configure(self.settings.security.secret_key)
        check_role(self.settings, self.role)
        sqlite = self.settings.database.url.startswith("sqlite")
        if sqlite and self._background:  # a real process: one per SQLite file
            self._sqlite_lock = lock_sqlite(self.settings.database.url)
        await ensure_schema(self.engine)
        await keycheck.verify_or_adopt(self.engine, self.rt.clock.now())
        if self.ops_server is not None:  # /healthz answers while the rest starts
            await self.ops_server.start()
        for platform, transport in self.transports.items():
            await self._start_transport(platform, transport, elect=not sqlite)
        if self.role.ticks:
            # After the backlog is in and before the first tick: an outage is told.
            await tell_if_outage(self.rt)
            if not sqlite and self._background:
                await self._elect_senders()
        if self._background:  # tests drive delivery and ticks by hand, with a fake clock
            if self.role.ticks:
                self._delivery_task = asyncio.create_task(self.delivery.run(), name="delivery")
                self.ticker.start()
            self._lease_tasks = [
                asyncio.create_task(lease.run(), name=f"lease-{lease.name}")
                for lease in self.leases
            ]

    async def _start_transport(self, platform: str, transport: Transport, *, elect: bool) -> None:
        """Start one transport: receiving, sending only, or receiving once leader."""
        # Links first: a transport takes in its backlog when it starts receiving, and
        # an /invite in that backlog must already get a link.
        link = getattr(transport, "deep_link", None)
        if link is not None:
            self.rt.deep_links[platform] = link
        leader = (
            elect and elected(self.settings, platform) and hasattr(transport, "start_receiving")
        )
        if self.role.receives and not leader:
            await transport.start(self.on_incoming)
        else:
            await transport.start(self.on_incoming, receive=False)
        self._started.append(transport)
        if self.role.receives and leader:
            lease = Lease(
                self.rt, f"ingest:{platform}",
                on_gain=transport.start_receiving,  # type: ignore[attr-defined]
                on_loss=transport.stop_receiving,  # type: ignore[attr-defined]
                on_change=lambda leading: self.health.set_leader(platform, leading),
                keep_when_away=platform == "signal",  # its spool keeps what arrives meanwhile
            )  # fmt: skip
            await lease.step()  # the leader takes in the backlog before the first tick
            self.leases.append(lease)
        log.info(
            "transport started", extra={"action": "app.transport_started", "platform": platform}
        )

    async def _elect_senders(self) -> None:
        """One sending process per platform, whatever the number of workers.

        A platform's rate limits (Telegram: about 30 messages a second per bot, one a
        second per chat, 20 a minute per group) hold for the bot, not per process, and
        alerts must go before prompts across all of them. So on PostgreSQL the workers
        elect one sender per platform with a lease row (`send:<platform>`): the sender
        claims that platform's outbox rows and paces them in one place (alerts first);
        every worker still ticks and queues. The lease is as short as the outbox's, so a
        killed sender's messages go out from a standby within seconds.
        """
        self.delivery.platforms = frozenset()
        self.health.tells_on = self._sending.__contains__
        for platform in self.transports:
            lease = self._send_lease(platform)
            await lease.step()
            self.leases.append(lease)

    def _send_lease(self, platform: str) -> Lease:
        """The `send:<platform>` lease; `_sending` keeps the platforms we sent for last.

        A lease lost because the database is away (nobody else can take it then)
        leaves the platform in `_sending`: this process is still the one to tell the
        operators on it that the database is away (`Health.tells_on`).
        """
        delivery = self.delivery

        async def gain() -> None:
            delivery.platforms = (delivery.platforms or frozenset()) | {platform}
            self._sending.add(platform)
            delivery.wake()

        async def loss() -> None:
            delivery.platforms = (delivery.platforms or frozenset()) - {platform}
            if lease.reachable:  # another process took it over
                self._sending.discard(platform)

        lease = Lease(
            self.rt, f"send:{platform}", on_gain=gain, on_loss=loss, ttl=OUTBOX_LEASE, tell=False
        )
        return lease

    async def stop(self, flush: float = 0.0) -> None:
        """Shut down in reverse order; idempotent.

        `flush` > 0 gives the outbox that many seconds, after the background sender
        has stopped, to send everything still queued (the console uses it so the
        replies to the last lines typed are shown).
        """
        self.ticker.stop()
        for task in self._lease_tasks:
            task.cancel()
        await asyncio.gather(*self._lease_tasks, return_exceptions=True)
        self._lease_tasks = []
        while self.leases:
            await self.leases.pop().release()
        if self._delivery_task is not None:
            self.delivery.request_stop()  # sends on the wire are recorded, not resent
            try:
                await asyncio.wait_for(self._delivery_task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                pass
            self._delivery_task = None
        if flush > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.delivery.run_once(), timeout=flush)
        while self._started:
            transport = self._started.pop()
            try:
                await transport.stop()
            except Exception:
                log.exception("transport stop failed", extra={"action": "app.stop_failed"})
        if self.ops_server is not None:
            await self.ops_server.stop()
        await self.health.close()
        await self.engine.dispose()
        unlock_sqlite(self._sqlite_lock)
        self._sqlite_lock = None

    async def run_until_stopped(
        self, stop: asyncio.Event | None = None, *, flush: float = 0.0
    ) -> None:
        """Run until SIGINT/SIGTERM (or `stop` is set).

        `flush` > 0 gives the outbox that many seconds to send what is queued before
        shutting down (the console uses it so replies to the last line are shown).
        """
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            await stop.wait()
        finally:
            await self.stop(flush=flush)
