"""The clock of the bot: one APScheduler interval job that calls `due.run_once`.

APScheduler only ticks; what is due lives in the database. The job can neither be
skipped nor pile up: `max_instances=1` and `coalesce=True` fold overlapping ticks
into one, and `misfire_grace_time=None` runs a late tick however late (APScheduler's
default of one second would silently drop it under load). A tick that finds a
burst works through all of it, batch by batch, before returning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.runtime import Runtime
from bot.scheduler import due

log = logging.getLogger(__name__)


#: Told after every tick: (its time, seconds it took, whether it succeeded).
OnTick = Callable[[datetime, float, bool], Awaitable[None]]


class Ticker:
    """Runs `due.run_once` every `scheduler.tick`; `run_once` is also callable directly."""

    def __init__(
        self,
        rt: Runtime,
        run: Callable[[Runtime, datetime | None], Awaitable[object]] | None = None,
        on_tick: OnTick | None = None,
    ) -> None:
        self._rt = rt
        self._run = run or (lambda r, now: due.run_once(r, now))
        self._on_tick = on_tick
        self._scheduler: AsyncIOScheduler | None = None

    async def run_once(self, now: datetime | None = None) -> object:
        """One tick; errors are logged (the next tick retries) so the job never dies."""
        now = now or self._rt.clock.now()
        started = time.perf_counter()
        result: object = None
        try:
            result = await self._run(self._rt, now)
            ok = True
        except Exception:
            log.exception("tick failed", extra={"action": "scheduler.tick_failed"})
            ok = False
        if self._on_tick is not None:
            await self._on_tick(now, time.perf_counter() - started, ok)
        return result

    def start(self) -> None:
        """Start ticking in the running event loop."""
        if self._scheduler is not None:
            return
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.run_once,
            IntervalTrigger(seconds=self._rt.settings.scheduler.tick.total_seconds()),
            id="holdfast-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        """Stop ticking (idempotent); a tick in progress finishes its transaction."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
