"""Benchmark of the scheduler's hot path: `due.run_once` over a SQLite file.

For each size it seeds that many defenders (a user, a console identity and a daily
schedule each) with fast Core bulk inserts, then measures:

- seeding time, and resident memory (VmRSS) after seeding and at its highest during
  the ticks (nothing seeded is kept in Python, so memory must not grow with size);
- an idle tick (nothing due): median of 50;
- a tick with 1,000 check-ins due at 08:00 UTC;
- a tick with 10,000 due at the same instant, 09:00 UTC (prompts written to the
  outbox, checked by counting them: all handled, none skipped).

The defenders live in five time zones; a schedule's local time is chosen so that it
falls on the intended UTC instant, so the burst is a real "everyone at nine" morning.

    python bench/due.py [--sizes 10000,100000] [--dir DIR] [--keep]

Each size runs in its own interpreter, so its memory figures are its own.

Targets (issue 2): idle tick < 5 ms, memory < 100 MiB at 100,000 defenders,
1,000 due < 1 s, 10,000 due all handled < 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, update  # noqa: E402

from bot.config import DatabaseSettings, SecuritySettings, Settings  # noqa: E402
from bot.core.schedules import next_due, parse_schedule  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.scheduler import due  # noqa: E402
from bot.store import crypto  # noqa: E402
from bot.store.db import create_engine, session_factory  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Checkin, Identity, Outbox, Schedule, User  # noqa: E402

DAY = datetime(2026, 6, 1, tzinfo=UTC)
IDLE_AT = DAY.replace(hour=7)  # nothing due
THOUSAND_AT = DAY.replace(hour=8)  # 1,000 due
BURST_AT = DAY.replace(hour=9)  # 10,000 due at the same instant
ZONES = ("UTC", "Europe/London", "Asia/Bangkok", "America/Bogota", "Africa/Nairobi")
CHUNK = 5_000
IDLE_RUNS = 50
TARGETS = {"idle": 0.005, "thousand": 1.0, "burst": 10.0, "rss": 100.0}


class FixedClock:
    """The bench passes `now` explicitly; this only satisfies the Runtime."""

    def __init__(self, now: datetime) -> None:
        self.value = now

    def now(self) -> datetime:
        return self.value


def rss_mib() -> float:
    """Current resident set size of this process (VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import resource  # not Linux: fall back to the peak

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Row:
    """One size's results."""

    size: int
    seed_s: float = 0.0
    rss_seeded: float = 0.0
    rss_peak: float = 0.0
    idle_ms: float = 0.0
    thousand_s: float = 0.0
    thousand_prompts: int = 0
    burst_s: float = 0.0
    burst_prompts: int = 0
    remind_s: float = 0.0
    reminders: int = 0
    notes: list[str] = field(default_factory=list)


def _instants(i: int) -> tuple[datetime, ...]:
    """The UTC instants defender `i`'s daily schedule falls on.

    The first 1,000 check in at 08:00 and 09:00 UTC, the next 9,000 at 09:00 (so
    10,000 are due at 09:00), everyone else once between 10:00 and 22:59 UTC. Nothing
    falls between 07:00 and 08:00, so the idle tick at 07:00 finds nothing.
    """
    if i < 1_000:
        return THOUSAND_AT, BURST_AT
    if i < 10_000:
        return (BURST_AT,)
    return (DAY + timedelta(minutes=10 * 60 + (i * 7) % (13 * 60)),)


def _spec_for(instants: tuple[datetime, ...], zone: str) -> str:
    local = [at.astimezone(ZoneInfo(zone)) for at in instants]
    return "daily " + " ".join(f"{at:%H:%M}" for at in local)


def _rows(start: int, stop: int, anchor: datetime) -> Iterator[tuple[dict, dict, dict]]:
    for i in range(start, stop):
        zone = ZONES[i % len(ZONES)]
        spec = _spec_for(_instants(i), zone)
        first = next_due(parse_schedule(spec), ZoneInfo(zone), anchor, anchor)
        user = {"id": i + 1, "display_name": f"Defender {i}", "timezone": zone, "lang": "en",
                "created_at": anchor}  # fmt: skip
        ident = {"user_id": i + 1, "platform": "console", "external_id": f"d{i}",
                 "chat_id": f"d{i}", "last_seen_at": anchor}  # fmt: skip
        sched = {"user_id": i + 1, "spec": spec, "anchor_at": anchor, "next_due_at": first,
                 "created_at": anchor}  # fmt: skip
        yield user, ident, sched


async def seed(rt: Runtime, size: int, anchor: datetime) -> None:
    """Bulk-insert `size` defenders in chunks; nothing is kept in memory afterwards."""
    for start in range(0, size, CHUNK):
        users, idents, scheds = zip(*_rows(start, min(size, start + CHUNK), anchor), strict=True)
        async with rt.sessions() as session, session.begin():
            await session.execute(insert(User), list(users))
            await session.execute(insert(Identity), list(idents))
            await session.execute(insert(Schedule), list(scheds))


async def prompts(rt: Runtime, kind: str = "prompt") -> int:
    async with rt.sessions() as session:
        stmt = select(func.count()).select_from(Outbox).where(Outbox.kind == kind)
        return int((await session.execute(stmt)).scalar_one())


async def answer_all(rt: Runtime, now: datetime) -> None:
    """The 08:00 check-ins are answered (a bulk update), so 09:00 is a pure burst of prompts."""
    async with rt.sessions() as session, session.begin():
        await session.execute(
            update(Checkin)
            .where(Checkin.state == "pending")
            .values(state="ok", answered_at=now, next_action_at=None)
        )


async def tick(rt: Runtime, now: datetime, row: Row) -> tuple[float, due.TickReport]:
    rt.clock.value = now  # type: ignore[attr-defined]
    started = time.perf_counter()
    report = await due.run_once(rt, now)
    elapsed = time.perf_counter() - started
    row.rss_peak = max(row.rss_peak, rss_mib())
    return elapsed, report


async def run_size(size: int, folder: Path) -> Row:
    row = Row(size)
    path = folder / f"bench-{size}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{path}"),
        security=SecuritySettings(secret_key="bench-secret-key-not-for-production"),
    )
    crypto.configure(settings.security.secret_key)
    engine = create_engine(settings.database.url)
    rt = Runtime(settings=settings, sessions=session_factory(engine), clock=FixedClock(DAY))
    try:
        await upgrade(engine)
        anchor = DAY.replace(hour=0, minute=30)
        started = time.perf_counter()
        await seed(rt, size, anchor)
        row.seed_s = time.perf_counter() - started
        gc.collect()
        row.rss_seeded = row.rss_peak = rss_mib()
        await measure_ticks(rt, row)
    finally:
        await engine.dispose()
    return row


async def measure_ticks(rt: Runtime, row: Row) -> None:
    """Idle ticks, then the 1,000 at 08:00, then (08:00 answered) the 10,000 at 09:00."""
    idle = []
    for n in range(IDLE_RUNS):
        elapsed, report = await tick(rt, IDLE_AT + timedelta(seconds=n), row)
        if report.anything:
            row.notes.append("idle tick found work")
        idle.append(elapsed)
    row.idle_ms = statistics.median(idle) * 1000

    row.thousand_s, report = await tick(rt, THOUSAND_AT, row)
    row.thousand_prompts = await prompts(rt)

    await answer_all(rt, THOUSAND_AT + timedelta(minutes=5))
    row.burst_s, report = await tick(rt, BURST_AT, row)
    row.burst_prompts = await prompts(rt) - row.thousand_prompts
    if report.prompts != row.burst_prompts:
        row.notes.append(f"tick reported {report.prompts} prompts")

    # Nobody answers the 09:00 burst: at 09:30 (the response window) 10,000 reminders.
    row.remind_s, report = await tick(rt, BURST_AT + timedelta(minutes=30), row)
    row.reminders = await prompts(rt, "reminder")


def print_table(rows: list[Row]) -> bool:
    header = (
        f"| {'defenders':>9} | {'seed':>7} | {'RSS seeded':>10} | {'RSS peak':>8} "
        f"| {'idle tick':>9} | {'1,000 due':>9} | {'10,000 due (prompts)':>23} "
        f"| {'10,000 reminders':>19} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    all_ok = True
    for r in rows:
        burst_n = 10_000
        checks = {
            "idle": r.idle_ms / 1000 < TARGETS["idle"],
            "thousand": r.thousand_s < TARGETS["thousand"] and r.thousand_prompts == 1_000,
            "burst": r.burst_s < TARGETS["burst"] and r.burst_prompts == burst_n,
            "rss": r.rss_peak < TARGETS["rss"],
            "reminders": r.remind_s < TARGETS["burst"] and r.reminders == burst_n,
        }
        all_ok &= all(checks.values()) and not r.notes
        burst = f"{r.burst_s:.2f} s ({r.burst_prompts:,}/{burst_n:,})"
        remind = f"{r.remind_s:.2f} s ({r.reminders:,})"
        print(
            f"| {r.size:>9,} | {r.seed_s:>5.1f} s | {r.rss_seeded:>6.1f} MiB "
            f"| {r.rss_peak:>4.1f} MiB | {r.idle_ms:>6.2f} ms | {r.thousand_s:>7.3f} s "
            f"| {burst:>23} | {remind:>19} |"
        )
        failed = [name for name, good in checks.items() if not good]
        if failed or r.notes:
            print(f"  {r.size:,}: targets missed: {', '.join(failed)} {'; '.join(r.notes)}")
    print(
        "targets: idle tick < 5 ms; RSS < 100 MiB; 1,000 due < 1 s; "
        "10,000 due < 10 s, all prompts in the outbox (10,000 reminders: same bound)"
    )
    return all_ok


def measure_apart(size: int, args: argparse.Namespace) -> Row:
    """Run one size in a fresh interpreter, so its memory figures are its own."""
    command = [sys.executable, __file__, "--sizes", str(size), "--json"]
    if args.dir:
        command += ["--dir", args.dir] + (["--keep"] if args.keep else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return Row(**json.loads(done.stdout.strip().splitlines()[-1]))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated defender counts")
    parser.add_argument("--dir", default="", help="where the SQLite files go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the database files")
    parser.add_argument("--json", action="store_true", help="one size, its row as JSON (internal)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if any(s < 10_000 for s in sizes):
        parser.error("each size must be at least 10,000 (the burst is 10,000 defenders)")
    if len(sizes) > 1:
        rows = [measure_apart(size, args) for size in sizes]
    else:
        with tempfile.TemporaryDirectory(prefix="holdfast-bench-", dir=args.dir or None) as tmp:
            folder = Path(args.dir) if args.keep and args.dir else Path(tmp)
            rows = [await run_size(sizes[0], folder)]
        if args.json:
            print(json.dumps(dataclasses.asdict(rows[0])))
            return 0
    python = sys.version.split()[0]
    print(f"Holdfast scheduler benchmark (SQLite {sqlite3.sqlite_version}, Python {python})")
    return 0 if print_table(rows) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
