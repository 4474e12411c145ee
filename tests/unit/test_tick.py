"""The APScheduler tick job can neither be skipped nor pile up (issue 2, acceptance 7).

APScheduler's defaults would hurt here: `misfire_grace_time=1` silently drops a run
that starts more than a second late (the failure mode of one-job-per-user designs
in a 10,000 burst), and a second instance could start while a slow tick still runs.
The ticker runs with `max_instances=1`, `coalesce=True`, `misfire_grace_time=None`.
These tests run the real AsyncIOScheduler with a fast interval.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import datetime, timedelta

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent

from bot.config import SchedulerSettings, Settings
from bot.runtime import Runtime
from bot.scheduler.tick import Ticker
from tests.support.clock import FakeClock


def runtime(tick: timedelta) -> Runtime:
    settings = dataclasses.replace(Settings(), scheduler=SchedulerSettings(tick=tick))
    return Runtime(settings=settings, sessions=None, clock=FakeClock(datetime.now().astimezone()))  # type: ignore[arg-type]


class SlowTick:
    """A stand-in for `due.run_once` that takes `duration` and records overlaps."""

    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.running = 0
        self.most_at_once = 0
        self.runs: list[tuple[float, float]] = []

    async def __call__(self, rt: Runtime, now: datetime | None) -> None:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        started = time.monotonic()
        try:
            await asyncio.sleep(self.duration)
        finally:
            self.running -= 1
            self.runs.append((started, time.monotonic()))


async def test_the_job_options_forbid_skipping_and_piling_up() -> None:
    ticker = Ticker(runtime(timedelta(seconds=1)), SlowTick(0))
    ticker.start()
    try:
        job = ticker._scheduler.get_job("holdfast-tick")  # type: ignore[union-attr]
        assert job is not None
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
        assert job.trigger.interval == timedelta(seconds=1)
    finally:
        ticker.stop()
        ticker.stop()  # idempotent


async def test_a_slow_tick_never_overlaps_the_next() -> None:
    slow = SlowTick(0.25)
    ticker = Ticker(runtime(timedelta(seconds=0.05)), slow)
    ticker.start()
    try:
        await asyncio.sleep(1.0)
    finally:
        ticker.stop()
    await asyncio.sleep(0.3)  # let a tick in progress finish
    assert slow.most_at_once == 1
    assert len(slow.runs) >= 3  # it kept ticking back to back …
    ordered = sorted(slow.runs)
    assert all(end <= nxt for (_, end), (nxt, _) in zip(ordered, ordered[1:], strict=False))


async def test_a_tick_starting_late_still_runs() -> None:
    """Block the event loop across a fire time for longer than APScheduler's default 1 s
    misfire grace: with that default the run would be dropped ("missed by 0:00:01.1")."""
    ticker = Ticker(runtime(timedelta(seconds=1.2)), SlowTick(0))
    ticker.start()
    scheduler = ticker._scheduler
    assert scheduler is not None
    events: list[JobEvent] = []
    scheduler.add_listener(events.append, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    try:
        fire_at = scheduler.get_job("holdfast-tick").next_run_time
        await asyncio.sleep(
            max(0.0, (fire_at - datetime.now(fire_at.tzinfo)).total_seconds() - 0.05)
        )
        time.sleep(1.15)  # the loop is stuck past the fire time (the next one is 1.2 s later)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if events:
                break
    finally:
        ticker.stop()
    assert [(e.code, e.scheduled_run_time) for e in events[:1]] == [(EVENT_JOB_EXECUTED, fire_at)]
    assert not [e for e in events if e.code == EVENT_JOB_MISSED]


async def test_a_failing_tick_is_logged_and_the_next_one_runs() -> None:
    calls: list[int] = []

    async def flaky(rt: Runtime, now: datetime | None) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")

    ticker = Ticker(runtime(timedelta(seconds=0.05)), flaky)
    assert await ticker.run_once() is None  # the error does not escape
    assert await ticker.run_once() is None
    assert len(calls) == 2
