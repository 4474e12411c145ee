"""Scale benchmark: the scheduler on PostgreSQL and SQLite side by side, and claim plans.

For each database (PostgreSQL from --pg or $HOLDFAST_TEST_DATABASE_URL, and an
SQLite file) it seeds N defenders with bulk inserts and measures, with the same
code as bench/due.py: seeding, an idle tick (median of 50), a tick with 1,000
check-ins due, a tick with 10,000 due at one instant, and 10,000 reminders.

Then, on PostgreSQL, the claim-plan check of issue 13: a worker's first outbox
claims run on an empty table; PostgreSQL may then cache a generic plan that is
slow once thousands of messages are pending. It claims (and rolls back) 64
messages 20 times on one connection, first with nothing pending and then with
4,000 pending, with Holdfast's engine settings (custom plans) and, for
comparison, with PostgreSQL's default plan cache. The table fails when Holdfast's
claim at 4,000 pending is more than 3x its claim at 0 (or over 50 ms).

    .venv/bin/python bench/scale.py [--size 100000] [--pg URL] [--sqlite-size 100000]

The PostgreSQL database's public schema is DROPPED: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import due as due_bench  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bot.config import DatabaseSettings, SecuritySettings, Settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.store import crypto, outbox  # noqa: E402
from bot.store.db import create_engine, session_factory  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Outbox  # noqa: E402

KEY = "bench-secret-key-not-for-production"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BACKLOG = 4_000
CLAIMS = 20


async def fresh_pg(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def scheduler_row(url: str, size: int) -> due_bench.Row:
    """bench/due.py's measurements on any database URL."""
    row = due_bench.Row(size)
    settings = Settings(
        database=DatabaseSettings(url=url), security=SecuritySettings(secret_key=KEY)
    )
    crypto.configure(KEY)
    engine = create_engine(url)
    clock = due_bench.FixedClock(due_bench.DAY)
    rt = Runtime(settings=settings, sessions=session_factory(engine), clock=clock)
    try:
        await upgrade(engine)
        started = time.perf_counter()
        await due_bench.seed(rt, size, due_bench.DAY.replace(hour=0, minute=30))
        row.seed_s = time.perf_counter() - started
        row.rss_seeded = row.rss_peak = due_bench.rss_mib()
        await due_bench.measure_ticks(rt, row)
    finally:
        await engine.dispose()
    return row


async def claim_times(url: str, custom_plans: bool) -> tuple[float, float]:
    """Median claim time (ms) with nothing pending, then with BACKLOG pending, one connection."""
    await fresh_pg(url)
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    if custom_plans:
        engine = create_engine(url, pool_size=1)
    else:  # PostgreSQL's default: generic plans may be cached after five runs
        engine = create_engine(
            url, pool_size=1, connect_args={"server_settings": {"plan_cache_mode": "auto"}}
        )
    try:
        empty = await _claims(engine)
        rows = [
            {"platform": "telegram", "chat_id": str(i), "kind": "prompt", "priority": 4,
             "payload": '{"text": "x", "kind": "prompt"}', "status": "pending", "attempts": 0,
             "next_attempt_at": NOW - timedelta(seconds=1), "created_at": NOW}
            for i in range(BACKLOG)
        ]  # fmt: skip
        async with engine.begin() as conn:
            await conn.execute(insert(Outbox.__table__), rows)
            await conn.execute(text("ANALYZE outbox"))
        full = await _claims(engine)
    finally:
        await engine.dispose()
    return empty, full


async def _claims(engine: object) -> float:
    sessions = session_factory(engine)  # type: ignore[arg-type]
    times = []
    for _ in range(CLAIMS):
        async with sessions() as session:
            started = time.perf_counter()
            await outbox.claim_batch(session, worker="bench", now=NOW, limit=64)
            times.append(time.perf_counter() - started)
            await session.rollback()  # the backlog stays as it was
    return statistics.median(times) * 1000


def print_rows(rows: list[tuple[str, due_bench.Row]]) -> None:
    print(
        "| database   | defenders | seed     | idle tick | 1,000 due | 10,000 due (prompts)"
        "    | 10,000 reminders |"
    )
    print("|------------|-----------|----------|-----------|-----------|-------------------------|"
          "------------------|")  # fmt: skip
    for name, r in rows:
        burst = f"{r.burst_s:.2f} s ({r.burst_prompts:,})"
        remind = f"{r.remind_s:.2f} s ({r.reminders:,})"
        print(
            f"| {name:<10} | {r.size:>9,} | {r.seed_s:>6.1f} s | {r.idle_ms:>6.2f} ms "
            f"| {r.thousand_s:>7.3f} s | {burst:>23} | {remind:>16} |"
        )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="defenders on PostgreSQL")
    parser.add_argument("--sqlite-size", type=int, default=100_000, help="defenders on SQLite")
    parser.add_argument("--pg", default=os.environ.get("HOLDFAST_TEST_DATABASE_URL", ""))
    args = parser.parse_args(argv)
    rows: list[tuple[str, due_bench.Row]] = []
    ok = True
    if args.pg:
        await fresh_pg(args.pg)
        rows.append(("PostgreSQL", await scheduler_row(args.pg, args.size)))
    with tempfile.TemporaryDirectory(prefix="holdfast-scale-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/scale.db"
        rows.append(("SQLite", await scheduler_row(url, args.sqlite_size)))
    print_rows(rows)
    for name, r in rows:
        if r.thousand_prompts != 1_000 or r.burst_prompts != 10_000 or r.reminders != 10_000:
            print(f"  {name}: not every prompt or reminder was queued {r.notes}")
            ok = False
    if args.pg:
        print(f"\nPostgreSQL outbox claim (64 rows), median of {CLAIMS}, one connection:")
        print("| plans                         | 0 pending | 4,000 pending |")
        print("|-------------------------------|-----------|---------------|")
        for label, custom in (
            ("Holdfast (force_custom_plan)", True),
            ("PostgreSQL default", False),
        ):
            empty, full = await claim_times(args.pg, custom)
            print(f"| {label:<29} | {empty:>6.1f} ms | {full:>10.1f} ms |")
            if custom and (full > 3 * max(empty, 1.0) or full > 50):
                print("  FAIL: claim time grows with the backlog")
                ok = False
        await fresh_pg(args.pg)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
