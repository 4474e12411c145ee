"""A burst of missed check-ins: how long one tick takes to raise every level-1 alert.

The scenario an internet shutdown produces: thousands of defenders miss the same
check-in, each with one trusted contact, and their grace ends at the same instant.
One `due.run_once` must move every check-in to MISSED, record the alerts and their
recipients, and queue one alert message per contact.

    python bench/alerts.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.config import DatabaseSettings, Settings
from bot.runtime import Runtime
from bot.scheduler import due
from bot.store.db import create_engine, session_factory, transaction
from bot.store.migrate import upgrade
from bot.store.models import AlertRecipient, Checkin, Contact, Identity, Outbox, User

AT = datetime(2026, 6, 1, 9, 45, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return AT


def rows(n: int) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    users, idents, links, checkins = [], [], [], []
    for i in range(n):
        d, c = 2 * i + 1, 2 * i + 2
        for uid in (d, c):
            users.append({"id": uid, "display_name": f"u{uid}", "lang": "en", "created_at": AT})
            idents.append({"user_id": uid, "platform": "console", "external_id": f"u{uid}",
                           "chat_id": f"u{uid}", "last_seen_at": AT})  # fmt: skip
        links.append({"defender_id": d, "contact_id": c, "created_at": AT})
        checkins.append({
            "user_id": d, "kind": "scheduled", "due_at": AT - timedelta(minutes=45),
            "deadline_at": AT - timedelta(minutes=15), "state": "late", "level": 0,
            "next_action_at": AT, "grace_s": 900, "level2_after_s": 1800,
            "created_at": AT,
        })  # fmt: skip
    return users, idents, links, checkins


async def run(n: int, folder: Path) -> tuple[float, int, int]:
    url = f"sqlite+aiosqlite:///{folder}/alerts-{n}.db"
    engine = create_engine(url)
    settings = Settings(database=DatabaseSettings(url=url))
    rt = Runtime(settings=settings, sessions=session_factory(engine), clock=FixedClock())
    try:
        await upgrade(engine)
        async with transaction(rt.sessions) as session:
            for model, data in zip((User, Identity, Contact, Checkin), rows(n), strict=True):
                await session.execute(insert(model), data)
        started = time.perf_counter()
        await due.run_once(rt, AT)
        elapsed = time.perf_counter() - started
        async with transaction(rt.sessions) as session:
            queued = await session.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.kind == "alert")
            )
            told = await session.scalar(select(func.count()).select_from(AlertRecipient))
        return elapsed, int(queued or 0), int(told or 0)
    finally:
        await engine.dispose()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print("| missed at once | one tick | alerts queued | recipients recorded | per alert |")
    print("|----------------|----------|---------------|---------------------|-----------|")
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            elapsed, queued, told = await run(n, Path(folder))
            ok &= queued == told == n
            print(
                f"| {n:>14,} | {elapsed:>6.2f} s | {queued:>13,} | {told:>19,} "
                f"| {elapsed / n * 1000:>6.2f} ms |"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
