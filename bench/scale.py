"""Scale benchmark: the scheduler on PostgreSQL and SQLite side by side, alert latency
with several worker processes, and claim plans.

For each database (PostgreSQL from --pg or $HOLDFAST_TEST_DATABASE_URL, at each of
--sizes, and an SQLite file) it seeds N defenders and measures, with the same code
as bench/due.py: seeding, an idle tick (median of 50), a tick with 1,000 check-ins
due, a tick with 10,000 due at one instant, and 10,000 reminders. On PostgreSQL the
first 10,000 defenders (everyone the ticks touch) are inserted as bench/due.py
does, through the sealing column types; the rest are copied from them by one
`INSERT … SELECT … FROM generate_series` per table (their sealed names, hashes and
ids are copies or fillers nobody reads), so a million defenders seed in seconds.

Then, on the largest PostgreSQL database, alert latency with 1, 2 and 4 real
`holdfast run --role worker` processes against the fake Bot API (in its own
process, enforcing 30 messages a second): --alerts late check-ins escalate at the
same instant as --prompts check-ins fall due; p50/p99/max from that instant to the
platform accepting each alert, the prompts accepted before the last alert, and the
429s received.

Then, on PostgreSQL, the claim-plan check of issue 13: a worker's first outbox
claims run on an empty table; PostgreSQL may then cache a generic plan that is
slow once thousands of messages are pending. It claims (and rolls back) 64
messages 20 times on one connection, first with nothing pending and then with
4,000 pending, with Holdfast's engine settings (custom plans) and, for
comparison, with PostgreSQL's default plan cache. The table fails when Holdfast's
claim at 4,000 pending is more than 3x its claim at 0 (or over 50 ms).

    .venv/bin/python bench/scale.py [--sizes 100000,1000000] [--pg URL]
        [--sqlite-size 100000] [--workers 1,2,4] [--alerts 100] [--prompts 600] [--quick]

--quick: 20,000 defenders on each database, latency with 1 and 2 workers, 20 alerts
and 100 prompts (about two minutes).

The PostgreSQL database's public schema is DROPPED: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import due as due_bench  # noqa: E402
from sqlalchemy import bindparam, insert, select, text, update  # noqa: E402

from bot import engine as checkin_engine  # noqa: E402
from bot.config import DatabaseSettings, SecuritySettings, Settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.store import crypto, outbox  # noqa: E402
from bot.store.db import create_engine, session_factory  # noqa: E402
from bot.store.keycheck import CHECK_TEXT  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import (  # noqa: E402
    Checkin,
    Contact,
    Identity,
    KeyCheck,
    Outbox,
    Schedule,
    User,
)
from bot.store.types import unset_filler  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: Defenders inserted through the column types; the rest are copies (see the docstring).
TYPED = 10_000

KEY = "vx1fH2NVDGG5jrj-YMEgXU_oSz-XbduAKItMleb273k"  # a fixed bench key (the CLI refuses weak ones)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BACKLOG = 4_000
CLAIMS = 20


async def fresh_pg(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def _users_copy(columns: list[str]) -> str:
    zones = ", ".join(f"'{z}'" for z in due_bench.ZONES)
    picks = {"id": "g + 1", "timezone": f"(ARRAY[{zones}])[g % {len(due_bench.ZONES)} + 1]"}
    values = ", ".join(picks.get(c, f"t.{c}") for c in columns)
    return (
        f"INSERT INTO users ({', '.join(columns)}) SELECT {values} "
        "FROM generate_series(:start, :stop - 1) AS g, (SELECT * FROM users WHERE id = 1) AS t"
    )


def _identities_copy(columns: list[str]) -> str:
    picks = {"user_id": "g + 1", "external_id": "'bench' || g", "chat_id": "'bench' || g"}
    cols = [c for c in columns if c != "id"]
    values = ", ".join(picks.get(c, f"t.{c}") for c in cols)
    return (
        f"INSERT INTO identities ({', '.join(cols)}) SELECT {values} "
        "FROM generate_series(:start, :stop - 1) AS g, "
        "(SELECT * FROM identities WHERE user_id = 1) AS t"
    )


def _schedules_copy(columns: list[str]) -> str:
    """Defender g (>= 10,000) checks in once a day between 10:00 and 22:59 UTC, as in due.py."""
    zones = ", ".join(f"'{z}'" for z in due_bench.ZONES)
    zone = f"(ARRAY[{zones}])[g % {len(due_bench.ZONES)} + 1]"
    instant = "(CAST(:day AS timestamptz) + make_interval(mins => 600 + (g * 7) % 780))"
    picks = {
        "user_id": "g + 1",
        "spec": f"'daily ' || to_char({instant} AT TIME ZONE {zone}, 'HH24:MI')",
        "next_due_at": instant,
    }
    cols = [c for c in columns if c != "id"]
    values = ", ".join(picks.get(c, f"t.{c}") for c in cols)
    return (
        f"INSERT INTO schedules ({', '.join(cols)}) SELECT {values} "
        "FROM generate_series(:start, :stop - 1) AS g, "
        "(SELECT * FROM schedules WHERE user_id = 1) AS t"
    )


async def as_the_app_leaves_it(rt: Runtime, now: datetime) -> None:
    """Fillers in the unset hash columns and the key-check row, as a running app leaves them.

    Without them the first worker to start would adopt the key and fill every row's
    hashes one by one (the path for an older database): minutes at a million.
    """
    async with rt.sessions() as session, session.begin():
        ids = (await session.execute(select(User.id).where(User.duress_hash.is_(None)))).scalars()
        rows = [{"uid": i, "d": unset_filler(), "p": unset_filler()} for i in ids]
        if rows:
            users = User.__table__
            stmt = (
                update(users)
                .where(users.c.id == bindparam("uid"))
                .values(duress_hash=bindparam("d"), pin_hash=bindparam("p"))
            )
            await session.execute(stmt, rows)
        if (await session.execute(select(KeyCheck.id).limit(1))).first() is None:
            await session.execute(
                insert(KeyCheck).values(
                    sealed=crypto.encrypt_field(CHECK_TEXT), created_at=now, ids_sealed=True
                )
            )


async def seed_pg(rt: Runtime, size: int, anchor: datetime) -> None:
    """The first TYPED defenders as bench/due.py seeds them, the rest by generate_series.

    The copies share the first defender's sealed hash fillers (a bench shortcut: the
    app seals each afresh).
    """
    await due_bench.seed(rt, min(size, TYPED), anchor)
    await as_the_app_leaves_it(rt, anchor)
    if size <= TYPED:
        return
    params = {"start": TYPED, "stop": size, "day": due_bench.DAY}
    async with rt.sessions() as session, session.begin():
        for model, build in ((User, _users_copy), (Identity, _identities_copy),
                             (Schedule, _schedules_copy)):  # fmt: skip
            columns = [c.name for c in model.__table__.c]
            await session.execute(text(build(columns)), params)
    async with rt.sessions() as session, session.begin():
        for table in ("users", "identities", "schedules"):
            await session.execute(text(f"ANALYZE {table}"))


async def accept_prompts(rt: Runtime, at: datetime) -> None:
    """The platform accepted every prompt queued (the answer window counts from then)."""
    async with rt.sessions() as session:
        stmt = select(Checkin.id).where(Checkin.state == "pending", Checkin.prompted_at.is_(None))
        ids = list((await session.execute(stmt)).scalars())
    for start in range(0, len(ids), 1_000):
        async with rt.sessions() as session, session.begin():
            chunk = [(i, False) for i in ids[start : start + 1_000]]
            await checkin_engine.delivered(session, chunk, at)


async def measure_ticks(rt: Runtime, row: due_bench.Row) -> None:
    """bench/due.py's ticks, with the 09:00 prompts accepted by the platform at 09:00.

    Reminders are timed from the prompt's delivery, so without it nothing would be
    reminded at 09:30.
    """
    idle = []
    for n in range(due_bench.IDLE_RUNS):
        elapsed, report = await due_bench.tick(rt, due_bench.IDLE_AT + timedelta(seconds=n), row)
        if report.anything:
            row.notes.append("idle tick found work")
        idle.append(elapsed)
    row.idle_ms = statistics.median(idle) * 1000
    row.thousand_s, report = await due_bench.tick(rt, due_bench.THOUSAND_AT, row)
    row.thousand_prompts = await due_bench.prompts(rt)
    await due_bench.answer_all(rt, due_bench.THOUSAND_AT + timedelta(minutes=5))
    row.burst_s, report = await due_bench.tick(rt, due_bench.BURST_AT, row)
    row.burst_prompts = await due_bench.prompts(rt) - row.thousand_prompts
    if report.prompts != row.burst_prompts:
        row.notes.append(f"tick reported {report.prompts} prompts")
    await accept_prompts(rt, due_bench.BURST_AT)
    # Nobody answers the 09:00 burst: at 09:30 (the response window) 10,000 reminders.
    row.remind_s, report = await due_bench.tick(rt, due_bench.BURST_AT + timedelta(minutes=30), row)
    row.reminders = await due_bench.prompts(rt, "reminder")


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
        anchor = due_bench.DAY.replace(hour=0, minute=30)
        if url.startswith("postgresql"):
            await seed_pg(rt, size, anchor)
        else:
            await due_bench.seed(rt, size, anchor)
        row.seed_s = time.perf_counter() - started
        row.rss_seeded = row.rss_peak = due_bench.rss_mib()
        await measure_ticks(rt, row)
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


# ---- alert latency with several worker processes ---------------------------------------


def _load_telegram_bench() -> Any:
    """bench/telegram.py's fake Bot API in its own process."""
    spec = importlib.util.spec_from_file_location(
        "bench_telegram", Path(__file__).resolve().parent / "telegram.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_telegram"] = module  # the fake's child process finds it by this name
    spec.loader.exec_module(module)
    return module


TG = _load_telegram_bench()  # at import: the spawned child process needs it too


#: Users of the latency runs: far above any seeded defender.
RUN_IDS = 50_000_000
RUN_CHATS = 700_000_000


async def quiet_database(url: str) -> None:
    """Nothing of the scheduler benchmark falls due while the workers run (real time now)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE schedules SET next_due_at = now() + interval '30 days'")
            )
            await conn.execute(text(
                "TRUNCATE outbox, alert_recipients, alerts, checkins, processed_inbound, "
                "ops_leases, ops_beats, ops_reports CASCADE"
            ))  # fmt: skip
    finally:
        await engine.dispose()


async def seed_run(url: str, alerts: int, prompts: int, at: datetime) -> None:
    """`prompts` Telegram defenders due at `at`; `alerts` late check-ins escalating at `at`."""
    before = at - timedelta(hours=1)
    tables: dict[Any, list[dict[str, Any]]] = {m: [] for m in (User, Identity, Schedule, Contact,
                                                               Checkin)}  # fmt: skip

    def person(uid: int) -> None:
        tables[User].append({"id": uid, "display_name": f"P{uid}", "timezone": "UTC",
                             "created_at": before})  # fmt: skip
        chat = str(RUN_CHATS + uid - RUN_IDS)
        tables[Identity].append({"user_id": uid, "platform": "telegram", "external_id": chat,
                                 "chat_id": chat, "last_seen_at": before})  # fmt: skip

    for n in range(prompts):
        person(RUN_IDS + n)
        tables[Schedule].append({"user_id": RUN_IDS + n, "spec": "daily 09:00",
                                 "anchor_at": before, "next_due_at": at,
                                 "created_at": before})  # fmt: skip
    for n in range(alerts):
        defender, contact = RUN_IDS + prompts + 2 * n, RUN_IDS + prompts + 2 * n + 1
        person(defender)
        person(contact)
        tables[Contact].append({"defender_id": defender, "contact_id": contact,
                                "created_at": before})  # fmt: skip
        tables[Checkin].append({"user_id": defender, "kind": "scheduled", "due_at": before,
                                "deadline_at": before, "state": "late", "level": 0,
                                "next_action_at": at, "grace_s": 900, "level2_after_s": 1800,
                                "duress": False, "created_at": before})  # fmt: skip
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for model, rows in tables.items():
                if rows:
                    await conn.execute(insert(model), rows)
    finally:
        await engine.dispose()


async def clear_run(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                "TRUNCATE outbox, alert_recipients, alerts, checkins, ops_leases CASCADE"
            ))  # fmt: skip
            await conn.execute(text("DELETE FROM users WHERE id >= :first"), {"first": RUN_IDS})
    finally:
        await engine.dispose()


def start_worker(url: str, base_url: str, token: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLDFAST_")}
    env |= {
        "HOLDFAST_DATABASE_URL": url, "HOLDFAST_TELEGRAM_TOKEN": token,
        "HOLDFAST_TELEGRAM_BASE_URL": base_url, "HOLDFAST_SECURITY_SECRET_KEY": KEY,
        "HOLDFAST_OPS_LISTEN": "", "PYTHONPATH": str(ROOT),
    }  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--role", "worker"],
            env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def latency_run(url: str, workers: int, alerts: int, prompts: int) -> dict[str, Any]:
    """One run: `workers` processes, a burst of prompts and alerts due at one instant."""
    tg = TG
    fake = tg.FakeProcess(enforce=True)
    procs: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {"workers": workers, "alerts": alerts, "prompts": prompts}
    with tempfile.TemporaryDirectory(prefix="holdfast-latency-") as tmp:
        try:
            procs = [
                start_worker(url, fake.base_url, tg.TOKEN, Path(tmp) / f"worker-{n}.log")
                for n in range(workers)
            ]
            deadline = time.monotonic() + 240  # a loaded machine starts Python slowly
            while not all("transport started" in p.read_text(errors="replace")
                          for p in Path(tmp).glob("worker-*.log")) or \
                    len(list(Path(tmp).glob("worker-*.log"))) < workers:  # fmt: skip
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    logs = [p.read_text(errors="replace")[-2000:]
                            for p in Path(tmp).glob("worker-*.log")]  # fmt: skip
                    raise RuntimeError("the workers did not start:\n" + "\n".join(logs))
                await asyncio.sleep(0.2)
            lead = 3.0  # seconds from seeding to the instant everything falls due
            due_wall = datetime.now(UTC) + timedelta(seconds=lead)
            due_mono = time.monotonic() + lead
            await seed_run(url, alerts, prompts, due_wall)
            expected = alerts + prompts
            deadline = time.monotonic() + lead + expected / 30 * 2 + 60
            while fake.ask("count")[0] < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
            sent = fake.ask("report")
            _, result["too_many"] = fake.ask("count")
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            fake.close()
    kinds = ["alert" if text.startswith("SAFETY ALERT") else "other" for _, _, text in sent]
    latencies = [at - due_mono for (_, at, _), kind in zip(sent, kinds, strict=True)
                 if kind == "alert"]  # fmt: skip
    last = max((i for i, kind in enumerate(kinds) if kind == "alert"), default=-1)
    result |= {
        "received": len(sent),
        "alerts_received": len(latencies),
        "p50": pct(latencies, 0.50),
        "p99": pct(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "prompts_before": kinds[:last].count("other"),
    }
    await clear_run(url)
    return result


def print_latency(results: list[dict[str, Any]], size: int) -> bool:
    print(
        f"\nAlert latency on PostgreSQL with {size:,} defenders (fake Bot API enforcing 30 msg/s;"
        " from the instant they fall due to the platform accepting them):"
    )
    print("| workers | alerts + prompts | alert p50 | alert p99 | alert max "
          "| prompts before last alert | 429s |")  # fmt: skip
    print("|---------|------------------|-----------|-----------|-----------"
          "|---------------------------|------|")  # fmt: skip
    ok = True
    for r in results:
        print(
            f"| {r['workers']:>7} | {r['alerts']:>6} + {r['prompts']:<7} | {r['p50']:>7.2f} s "
            f"| {r['p99']:>7.2f} s | {r['max']:>7.2f} s | {r['prompts_before']:>25} "
            f"| {r['too_many']:>4} |"
        )
        if r["alerts_received"] != r["alerts"] or r["received"] < r["alerts"] + r["prompts"]:
            print(f"  {r['workers']} workers: {r['received']} of "
                  f"{r['alerts'] + r['prompts']} messages arrived")  # fmt: skip
            ok = False
        if r["too_many"]:
            ok = False
    return ok


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
    parser.add_argument("--sizes", default="100000,1000000", help="defenders on PostgreSQL")
    parser.add_argument("--sqlite-size", type=int, default=100_000, help="defenders on SQLite")
    parser.add_argument("--pg", default=os.environ.get("HOLDFAST_TEST_DATABASE_URL", ""))
    parser.add_argument("--workers", default="1,2,4", help="worker processes per latency run")
    parser.add_argument("--alerts", type=int, default=100, help="alerts due at one instant")
    parser.add_argument("--prompts", type=int, default=600, help="prompts due at that instant")
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 and 2 workers")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.sqlite_size, args.workers = "20000", 20_000, "1,2"
        args.alerts, args.prompts = 20, 100
    sizes = [int(n) for n in args.sizes.split(",") if n]
    rows: list[tuple[str, due_bench.Row]] = []
    latencies: list[dict[str, Any]] = []
    ok = True
    if args.pg:
        for size in sizes:
            await fresh_pg(args.pg)
            rows.append(("PostgreSQL", await scheduler_row(args.pg, size)))
        await quiet_database(args.pg)  # the largest database, left by the last size
        for workers in [int(n) for n in args.workers.split(",") if n]:
            latencies.append(await latency_run(args.pg, workers, args.alerts, args.prompts))
    with tempfile.TemporaryDirectory(prefix="holdfast-scale-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/scale.db"
        rows.append(("SQLite", await scheduler_row(url, args.sqlite_size)))
    print_rows(rows)
    for name, r in rows:
        if r.thousand_prompts != 1_000 or r.burst_prompts != 10_000 or r.reminders != 10_000:
            print(f"  {name}: not every prompt or reminder was queued {r.notes}")
            ok = False
    if latencies:
        ok = print_latency(latencies, max(sizes)) and ok
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
