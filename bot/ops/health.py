"""One process's health: scheduler ticks, database, platforms, leadership and metrics.

`Health` is fed by the parts of the app as they work (`on_tick` after every tick,
`count_send` after every recorded send, `set_leader` when an ingest role changes)
and read by the ops endpoint (`/readyz`, `/metrics`) and the heartbeat. Metrics
carry platforms, kinds, levels and outcomes as labels: never a chat, a person or a
message. Backlog gauges are counted from the database when scraped, so they are
true whichever process did the work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.core.model import Address, MessageKind, Outgoing
from bot.ops.report import OpsEvent, operator_addresses, render, report
from bot.runtime import Runtime
from bot.store import ops as ops_store
from bot.store.db import transaction
from bot.transports.base import Transport

log = logging.getLogger(__name__)

#: A tick is stale after this many tick intervals without a healthy one.
STALE_TICKS = 3
#: The heartbeat URL is requested at most this often.
HEARTBEAT_EVERY = timedelta(minutes=1)
#: How long a database probe may take before the database counts as unreachable.
PROBE_TIMEOUT = 2.0
#: Ticks failing for longer than this (the database away) are told to the operators.
DATABASE_REPORT_AFTER = timedelta(minutes=1)
#: An acknowledged-alert time-out for the overdue gauge when the settings have none.
DEFAULT_ACK_TIMEOUT = timedelta(hours=2)


class Health:
    """What one running process knows about its own health, and its metrics registry."""

    def __init__(
        self, rt: Runtime, transports: Mapping[str, Transport], *, scheduler: bool = True
    ) -> None:
        self._rt = rt
        self._transports = transports
        self.scheduler = scheduler  # False for an ingest-only process: no ticks expected
        self.last_tick: datetime | None = None
        self.leaders: dict[str, bool] = {}
        self._heartbeat_at: datetime | None = None
        self._failing_since: datetime | None = None
        #: Operator chats told directly in this outage (the database away): recorded after.
        self._told_away: list[Address] | None = None
        #: Whether this process tells the operators on `platform` directly while the
        #: database is away: its sender (`bot.app`), so one process tells them, once.
        self.tells_on: Callable[[str], bool] = lambda platform: True
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.registry = CollectorRegistry()
        self._metrics(self.registry)

    def _metrics(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

        self.due = gauge("holdfast_due_backlog", "Due work not yet claimed", ("what",))
        self.outbox = gauge("holdfast_outbox_backlog", "Unsent messages", ("kind",))
        self.oldest_alert = gauge(
            "holdfast_oldest_unsent_alert_seconds", "Age of the oldest unsent alert message"
        )
        self.open_alerts = gauge("holdfast_open_alerts", "Open alerts", ("level",))
        self.unacked = gauge(
            "holdfast_unacknowledged_alerts_overdue",
            "Open alerts nobody acknowledged within the ack time-out",
        )
        self.leader = gauge(
            "holdfast_ingest_leader", "1 if this process receives the platform", ("platform",)
        )
        self.last_tick_ts = gauge(
            "holdfast_last_tick_timestamp_seconds", "When this process last ticked healthily"
        )
        self.database_up = gauge("holdfast_database_up", "1 if the database answered")
        self.sends = Counter(
            "holdfast_sends", "Send attempts by outcome", ("platform", "outcome"), registry=registry
        )
        self.tick_seconds = Histogram(
            "holdfast_tick_seconds",
            "Scheduler tick duration",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )

    # -- fed by the app -------------------------------------------------------------

    async def on_tick(self, now: datetime, seconds: float, ok: bool) -> None:
        """After each tick: time it; after a healthy one record it and maybe beat."""
        self.tick_seconds.observe(seconds)
        if not ok:
            self._failing_since = self._failing_since or now
            if self._told_away is None and now - self._failing_since > DATABASE_REPORT_AFTER:
                await self._tell_away(self._failing_since, now)
            return
        if self._failing_since is not None:
            await self._tell_recovered(self._failing_since, now)
            self._failing_since = None
            self._told_away = None
        self.last_tick = now
        self.last_tick_ts.set(now.timestamp())
        try:
            async with transaction(self._rt.sessions) as session:
                await ops_store.beat(session, "tick", now)
        except Exception:  # the next tick records it; health reads the in-memory value
            log.warning("tick not recorded", extra={"action": "ops.beat_failed"})
        self._maybe_heartbeat(now)

    async def _tell_away(self, since: datetime, now: datetime) -> None:
        """Ticks have failed for over a minute: if the database is away, tell the operators now.

        Nothing can be queued while the database is away, so the message goes from
        memory straight through the transports, once per outage, by the process that
        sends for the operator's platform (`tells_on`); it is recorded (`report`, with
        the chats already told) once the database is back.
        """
        if await self.database_ok():
            return  # the ticks fail for another reason: logged where they fail
        self._told_away = []
        facts: dict[str, int | str] = {
            "seconds": int((now - since).total_seconds()),
            "since": f"{since:%Y-%m-%d %H:%M:%S} UTC",
        }
        text = render(OpsEvent.DATABASE_AWAY, facts)
        for address in operator_addresses(self._rt.settings):
            transport = self._transports.get(address.platform)
            if transport is None or not self.tells_on(address.platform):
                continue
            try:
                await transport.send(Outgoing(address, text, kind=MessageKind.ALERT))
            except Exception:  # queued after the outage instead
                log.warning(
                    "operator not told directly",
                    extra={"action": "ops.report_failed", "platform": address.platform},
                )
                continue
            self._told_away.append(address)
        log.error(
            "operators told: %s",
            OpsEvent.DATABASE_AWAY.value,
            extra={"action": "ops.database_away", "operators": len(self._told_away), **facts},
        )

    async def _tell_recovered(self, since: datetime, now: datetime) -> None:
        """Ticks failed from `since` until now: longer than a minute is told to the operators.

        Told once it is over, since nothing can be queued while the database is away;
        what was told directly meanwhile is recorded now.
        """
        seconds = int((now - since).total_seconds())
        if now - since <= DATABASE_REPORT_AFTER:
            return
        try:
            async with transaction(self._rt.sessions) as session:
                if self._told_away:
                    await report(
                        session, self._rt.settings, OpsEvent.DATABASE_AWAY, now,
                        dedupe=f"database:{since.isoformat()}", told=self._told_away,
                        seconds=seconds, since=f"{since:%Y-%m-%d %H:%M:%S} UTC",
                    )  # fmt: skip
                # Every worker saw the same outage (from its own first failed tick):
                # the first one back tells it, the others find its report.
                told = await ops_store.recent_reports(session, since, limit=100)
                if OpsEvent.DATABASE_DOWN.value in {event for event, _ in told}:
                    return
                await report(
                    session, self._rt.settings, OpsEvent.DATABASE_DOWN, now,
                    dedupe=f"database:{since.isoformat()}",
                    seconds=seconds, since=f"{since:%Y-%m-%d %H:%M:%S} UTC",
                )  # fmt: skip
        except Exception:
            log.warning("outage not reported", extra={"action": "ops.report_failed"})

    def count_send(self, platform: str, outcome: str) -> None:
        """One send attempt ended as `outcome` (sent, retry, failed, moved)."""
        self.sends.labels(platform=platform, outcome=outcome).inc()

    def set_leader(self, platform: str, leading: bool) -> None:
        """This process did (or no longer does) receive `platform`."""
        self.leaders[platform] = leading
        self.leader.labels(platform=platform).set(1 if leading else 0)

    # -- heartbeat ------------------------------------------------------------------

    def _maybe_heartbeat(self, now: datetime) -> None:
        url = self._rt.settings.ops.heartbeat_url
        if not url or (self._heartbeat_at and now - self._heartbeat_at < HEARTBEAT_EVERY):
            return
        self._heartbeat_at = now
        task = asyncio.create_task(self._beat(url), name="holdfast-heartbeat")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _beat(self, url: str) -> None:
        """GET the dead-man's-switch URL; a failure is logged, never raised (the URL is secret)."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._http.get(url) as response:
                if response.status >= 400:
                    log.warning(
                        "heartbeat refused",
                        extra={"action": "ops.heartbeat_failed", "status": response.status},
                    )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "heartbeat failed",
                extra={"action": "ops.heartbeat_failed", "error": type(exc).__name__},
            )

    async def settle(self) -> None:
        """Wait for heartbeats in flight (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)

    async def close(self) -> None:
        """Let a heartbeat in flight finish (briefly) and close the HTTP session."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
        if self._http is not None:
            await self._http.close()
            self._http = None

    # -- read by the endpoint -------------------------------------------------------

    async def database_ok(self) -> bool:
        """Whether the database answers a trivial query within `PROBE_TIMEOUT` seconds."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT), self._rt.sessions() as session:
                await ops_store.ping(session)
        except Exception:
            ok = False
        else:
            ok = True
        self.database_up.set(1 if ok else 0)
        return ok

    def platforms(self) -> dict[str, bool]:
        """Each platform this process runs, and whether its connection is up."""
        return {
            name: bool(getattr(transport, "connected", True))
            for name, transport in self._transports.items()
        }

    def tick_age(self, now: datetime) -> float | None:
        """Seconds since the last healthy tick of this process (None: none yet)."""
        return None if self.last_tick is None else (now - self.last_tick).total_seconds()

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, report): database reachable, ticks fresh, platforms up."""
        now = self._rt.clock.now()
        database = await self.database_ok()
        age = self.tick_age(now)
        limit = STALE_TICKS * self._rt.settings.scheduler.tick.total_seconds()
        ticking = (not self.scheduler) or (age is not None and age <= limit)
        platforms = self.platforms()
        ready = database and ticking and all(platforms.values())
        doc: dict[str, Any] = {
            "ready": ready,
            "database": database,
            "scheduler": {
                "running": self.scheduler,
                "ok": ticking,
                "last_tick": self.last_tick.isoformat() if self.last_tick else None,
                "age_seconds": None if age is None else round(age, 3),
            },
            "platforms": platforms,
            "leader": dict(self.leaders),
            "worker": self._rt.worker_id,
        }
        return ready, doc

    async def refresh(self) -> None:
        """Count the backlog gauges from the database (on each scrape)."""
        now = self._rt.clock.now()
        ack_timeout = getattr(self._rt.settings.checkins, "ack_timeout", DEFAULT_ACK_TIMEOUT)
        async with asyncio.timeout(PROBE_TIMEOUT * 2), self._rt.sessions() as session:
            found = await ops_store.backlog(session, now, ack_timeout)
        self.due.labels(what="schedules").set(found.schedules_due)
        self.due.labels(what="checkins").set(found.checkins_due)
        for kind in ("answer", "alert", "reply", "reminder", "info", "prompt"):
            self.outbox.labels(kind=kind).set(found.outbox.get(kind, 0))
        oldest = found.oldest_alert_at
        self.oldest_alert.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0)
        for level in (1, 2):
            self.open_alerts.labels(level=str(level)).set(found.open_alerts.get(level, 0))
        self.unacked.set(found.unacked_overdue)
