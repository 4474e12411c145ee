"""`holdfast status`: the health of a running deployment on one screen, for an operator.

Two sources, each optional: this host's ops endpoint (`ops.listen`: is the process
here ready, and why not), and the database every process shares (when anyone last
ticked healthily, who leads ingest, what is waiting, what the operators were told).
Counts and states only: nothing on the screen names a person.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.config import Settings
from bot.core.durations import format_duration
from bot.ops.health import DEFAULT_ACK_TIMEOUT, STALE_TICKS
from bot.ops.server import split_listen
from bot.store import ops as ops_store
from bot.store.db import create_engine, session_factory
from bot.store.migrate import status as schema_status

#: Reports made to the operators this recently are listed.
RECENT = timedelta(hours=24)


@dataclass
class Status:
    """What `holdfast status` found."""

    endpoint: dict[str, Any] | None = None  # /readyz of this host's process
    endpoint_error: str = ""
    schema: str = ""
    last_tick: datetime | None = None
    leases: list[tuple[str, str, datetime]] = field(default_factory=list)
    backlog: ops_store.Backlog | None = None
    reports: list[tuple[str, datetime]] = field(default_factory=list)

    def ready(self, now: datetime, tick: timedelta) -> bool:
        """Ready: the endpoint says so (when on), and someone ticked within 3 ticks."""
        if self.endpoint is not None and not self.endpoint.get("ready"):
            return False
        if self.endpoint_error:
            return False
        return self.last_tick is not None and now - self.last_tick <= STALE_TICKS * tick


async def probe(listen: str, timeout: float = 3.0) -> tuple[dict[str, Any] | None, str]:
    """GET /readyz of the process on `listen` (0.0.0.0 is asked on 127.0.0.1)."""
    host, port = split_listen(listen)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
            http.get(f"http://{shown}:{port}/readyz") as response,
        ):
            return await response.json(), ""
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return None, f"no answer on {listen} ({type(exc).__name__})"


async def collect(settings: Settings, now: datetime) -> Status:
    """Ask the endpoint (if configured) and the database; raises if the database is away."""
    found = Status()
    if settings.ops.listen:
        found.endpoint, found.endpoint_error = await probe(settings.ops.listen)
    engine = create_engine(settings.database.url)
    try:
        schema = await schema_status(engine)
        found.schema = (
            f"{schema.current} ({'newest' if schema.up_to_date else 'run holdfast migrate'})"
        )
        if not schema.up_to_date:
            return found
        ack_timeout = getattr(settings.checkins, "ack_timeout", DEFAULT_ACK_TIMEOUT)
        async with session_factory(engine)() as session:
            found.last_tick = await ops_store.last_beat(session, "tick")
            found.leases = await ops_store.leases(session)
            found.backlog = await ops_store.backlog(session, now, ack_timeout)
            found.reports = await ops_store.recent_reports(session, now - RECENT)
    finally:
        await engine.dispose()
    return found


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    return f"{format_duration(timedelta(seconds=seconds)) if seconds else '0s'} ago"


def render(found: Status, now: datetime, tick: timedelta) -> str:
    """The one screen."""
    lines = [f"Holdfast status at {now:%Y-%m-%d %H:%M:%S} UTC: "
             + ("READY" if found.ready(now, tick) else "NOT READY")]  # fmt: skip
    if found.endpoint is not None:
        doc = found.endpoint
        sched = doc.get("scheduler", {})
        platforms = ", ".join(f"{p} {'up' if up else 'DOWN'}" for p, up in doc["platforms"].items())
        lines.append(
            f"  this host: {'ready' if doc.get('ready') else 'NOT ready'}; database "
            f"{'ok' if doc.get('database') else 'UNREACHABLE'}; scheduler "
            f"{'ok' if sched.get('ok') else 'STALE'}; platforms: {platforms or 'none'}"
        )
    elif found.endpoint_error:
        lines.append(f"  this host: {found.endpoint_error}")
    lines.append(f"  schema: {found.schema}")
    stale = found.last_tick is None or now - found.last_tick > STALE_TICKS * tick
    lines.append(
        f"  last healthy tick: {_ago(now, found.last_tick)}" + (" (STALE)" if stale else "")
    )
    for name, holder, until in found.leases:
        state = "held" if until > now else "EXPIRED"
        lines.append(f"  {name}: {holder} ({state}, lease until {until:%H:%M:%S})")
    if found.backlog is not None:
        b = found.backlog
        unsent = ", ".join(f"{k} {n}" for k, n in sorted(b.outbox.items())) or "none"
        oldest = b.oldest_alert_at
        opened = ", ".join(f"level {lvl}: {n}" for lvl, n in sorted(b.open_alerts.items()))
        lines += [
            f"  due now: {b.schedules_due} schedules, {b.checkins_due} check-ins",
            f"  unsent messages: {unsent}",
            f"  oldest unsent alert: {_ago(now, oldest) if oldest else 'none'}",
            f"  open alerts: {opened or 'none'}; unacknowledged past time-out: {b.unacked_overdue}",
        ]
    told = ", ".join(f"{event} {_ago(now, at)}" for event, at in found.reports) or "none"
    lines.append(f"  operators told (24h): {told}")
    return "\n".join(lines)


async def run(settings: Settings, now: datetime) -> tuple[int, str]:
    """(exit code, screen): 0 ready, 1 not ready or the database unreachable."""
    try:
        found = await asyncio.wait_for(collect(settings, now), timeout=15)
    except (OSError, TimeoutError) as exc:
        return 1, _db_error(exc)
    except Exception as exc:  # SQLAlchemy wraps driver errors; name the key, not the trace
        return 1, _db_error(exc)
    tick = settings.scheduler.tick
    return (0 if found.ready(now, tick) else 1), render(found, now, tick)


def _db_error(exc: BaseException) -> str:
    return (
        "holdfast: cannot read the database at database.url (HOLDFAST_DATABASE_URL): "
        f"{type(exc).__name__}. Check that it is running and the URL is right."
    )
