"""Benchmark: how late are alerts and prompts in a morning burst (issue 9)?

10,000 defenders on SQLite. At 09:00, 1,000 daily prompts fall due at one instant,
and at the same instant the grace of M missed check-ins runs out (M = 50, then
M = 1,000), each alerting one trusted contact. Everything is delivered through the
real Telegram transport (python-telegram-bot) against the fake Bot API in its own
process, enforcing Telegram's limits (30 messages a second, 1 a second per chat).

It prints p50 / p99 / max of the time from deadline + grace (09:00) to the platform
accepting each alert, the same for the prompts (from their due time, 09:00), and
how many prompts were accepted before the last alert. Targets: p99 <= 10 s for the
50 alerts, and 0 prompts before the last alert (a tick queues escalations before
prompts, and no routine message is claimed while an alert waits or is in flight).

    .venv/bin/python bench/latency.py [--defenders 10000] [--prompts 1000] [--missed 50,1000]

Runs take the platform's time: (1,000 + M) / 30 per second, about 35 s and 67 s.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from sqlalchemy import insert  # noqa: E402

from bot.app import App  # noqa: E402
from bot.config import DatabaseSettings, SecuritySettings, Settings  # noqa: E402
from bot.scheduler import due  # noqa: E402
from bot.store import crypto  # noqa: E402
from bot.store.db import create_engine  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Checkin, Contact, Identity, Schedule, User  # noqa: E402
from bot.transports.telegram import TelegramTransport  # noqa: E402


def _load_telegram_bench() -> Any:
    """bench/telegram.py's fake-server process and real-speed clock (one copy of each)."""
    spec = importlib.util.spec_from_file_location("bench_telegram", _HERE / "telegram.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_telegram"] = module  # the fake's child process finds it by this name
    spec.loader.exec_module(module)
    return module


TG = _load_telegram_bench()
NINE, BEFORE, TOKEN = TG.NINE, TG.BEFORE, TG.TOKEN
PROMPT_CHATS, ALERT_CHATS, IDLE_CHATS = 10_000_000, 20_000_000, 30_000_000
TIME_OUT = 240.0


async def seed(url: str, defenders: int, prompts: int, missed: int) -> None:
    """`prompts` defenders due at 09:00, `missed` whose grace ends at 09:00, the rest idle."""
    tables: dict[Any, list[dict[str, Any]]] = {
        m: [] for m in (User, Identity, Schedule, Contact, Checkin)
    }
    uid = 0

    def person(chat: int) -> int:
        nonlocal uid
        uid += 1
        TG._person(tables, uid, chat)
        return uid

    for i in range(prompts):
        who = person(PROMPT_CHATS + i)
        tables[Schedule].append({"user_id": who, "spec": "daily 09:00", "anchor_at": BEFORE,
                                 "next_due_at": NINE, "created_at": BEFORE})  # fmt: skip
    for n in range(missed):
        defender, contact = person(ALERT_CHATS + 2 * n), person(ALERT_CHATS + 2 * n + 1)
        tables[Contact].append({"defender_id": defender, "contact_id": contact,
                                "created_at": BEFORE})  # fmt: skip
        tables[Checkin].append(TG._late_checkin(defender, NINE))  # deadline + grace = 09:00
    for i in range(max(0, defenders - prompts - missed)):
        person(IDLE_CHATS + i)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            for model, rows in tables.items():
                for start in range(0, len(rows), 2000):
                    await conn.execute(insert(model), rows[start : start + 2000])
    finally:
        await engine.dispose()


async def run(folder: Path, defenders: int, prompts: int, missed: int) -> dict[str, Any]:
    """One burst through the real app and transport; returns the latencies measured."""
    url = f"sqlite+aiosqlite:///{folder / f'latency-{missed}.db'}"
    await seed(url, defenders, prompts, missed)
    fake = TG.FakeProcess(enforce=True)
    clock = TG.RealSpeedClock()
    settings = Settings(
        database=DatabaseSettings(url=url),
        security=SecuritySettings(secret_key="bench-secret-key-not-for-production"),
    )
    crypto.configure(settings.security.secret_key)
    transport = TelegramTransport(TOKEN, base_url=fake.base_url, pacing=True, poll_timeout=5)
    app = App(settings, transports={"telegram": transport}, clock=clock, background=True)
    expected = prompts + missed
    timed_out = False
    try:
        await app.start()
        clock.start(NINE)
        await due.run_once(app.rt, NINE)
        deadline = time.monotonic() + TIME_OUT
        while (await asyncio.to_thread(fake.ask, "count"))[0] < expected:
            if time.monotonic() > deadline:
                timed_out = True
                break
            await asyncio.sleep(0.2)
        sent = fake.ask("report")
        too_many = fake.ask("count")[1]
    finally:
        await app.stop()
        fake.close()
    zero = clock.real_time_of(NINE)
    alerts = [t - zero for chat, t, text in sent if chat >= ALERT_CHATS and chat < IDLE_CHATS]
    prompt_times = [t - zero for chat, t, _ in sent if PROMPT_CHATS <= chat < ALERT_CHATS]
    last_alert = max(alerts, default=0.0)
    return {
        "missed": missed,
        "alerts": sorted(alerts),
        "prompts": sorted(prompt_times),
        "overtaking": sum(1 for t in prompt_times if t < last_alert),
        "too_many": too_many,
        "timed_out": timed_out,
        "expected": (missed, prompts),
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def table(results: list[dict[str, Any]]) -> bool:
    print("| burst | messages | accepted | p50 | p99 | max |")
    print("|---|---|---|---|---|---|")
    ok = True
    for r in results:
        missed, prompts = r["expected"]
        for label, values, count in (
            (f"{missed} alerts", r["alerts"], missed),
            (f"{prompts} prompts (with {missed} alerts)", r["prompts"], prompts),
        ):
            print(
                f"| {label} | {count} | {len(values)} | {pct(values, 0.5):.1f} s | "
                f"{pct(values, 0.99):.1f} s | {max(values, default=float('nan')):.1f} s |"
            )
        print(
            f"| prompts accepted before the last of {missed} alerts | | {r['overtaking']} | | | |"
        )
        ok &= len(r["alerts"]) == missed and not r["timed_out"] and r["too_many"] == 0
        ok &= r["overtaking"] == 0
        if missed <= 50:
            ok &= pct(r["alerts"], 0.99) <= 10.0
    return ok


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defenders", type=int, default=10_000)
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--missed", default="50,1000", help="comma-separated burst sizes")
    args = parser.parse_args(argv)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    results = []
    with tempfile.TemporaryDirectory(prefix="holdfast-latency-") as tmp:
        for missed in (int(m) for m in args.missed.split(",")):
            results.append(await run(Path(tmp), args.defenders, args.prompts, missed))
    print(
        f"Holdfast alert and prompt latency from 09:00 (SQLite, {args.defenders:,} defenders, "
        f"Telegram fake at 30 msg/s, Python {sys.version.split()[0]})"
    )
    return 0 if table(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
