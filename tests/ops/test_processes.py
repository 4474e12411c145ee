"""Real processes on one PostgreSQL: `holdfast run --role …` against the fake Bot API.

Each test starts `python -m bot run` processes (workers, ingest leader and standby)
on the test database, with Telegram pointed at the fake Bot API in this process,
and counts what the fake server received, never what the database says. Each is
bounded well under a minute. Skipped without HOLDFAST_TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from bot.store import crypto
from bot.store.db import create_engine
from bot.store.migrate import upgrade
from bot.store.models import Checkin, Contact, Identity, Schedule, User
from tests.conftest import PG_URL, _fresh_pg
from tests.support.servers.fake_telegram import FakeTelegram

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="needs HOLDFAST_TEST_DATABASE_URL (PostgreSQL)"),
]

KEY = secrets.token_urlsafe(32)
#: Check-ins due at one instant (about 20 s with three workers on an idle 2-core machine).
BURST = int(os.environ.get("HOLDFAST_TEST_BURST", "1000"))
OPERATOR = 999
ROOT = Path(__file__).resolve().parents[2]


class Fleet:
    """`holdfast run` processes sharing the test database and the fake Bot API."""

    def __init__(self, fake: FakeTelegram, tmp: Path) -> None:
        self.fake = fake
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, role: str, **env: str) -> subprocess.Popen[bytes]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOLDFAST_")}
        base |= {
            "HOLDFAST_DATABASE_URL": PG_URL,
            "HOLDFAST_TELEGRAM_TOKEN": self.fake.token,
            "HOLDFAST_TELEGRAM_BASE_URL": self.fake.base_url,
            "HOLDFAST_SECURITY_SECRET_KEY": KEY,
            "HOLDFAST_OPS_LISTEN": "",
            "HOLDFAST_OPS_OPERATOR_CHATS": f"telegram:{OPERATOR}",
            "HOLDFAST_OPS_FAILOVER": "5s",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        with (self.tmp / f"{role}-{len(self.procs)}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--role", role],
                env=base, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs(self) -> str:
        def tail(path: Path) -> str:
            lines = path.read_text(errors="replace").splitlines()
            return "\n".join(line for line in lines if "apscheduler" not in line)[-3000:]

        return "\n".join(f"--- {p.name}\n{tail(p)}" for p in sorted(self.tmp.glob("*.log")))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def fleet(fake: FakeTelegram, tmp_path: Path) -> AsyncIterator[Fleet]:
    await _fresh_pg()
    engine = create_engine(PG_URL)
    await upgrade(engine)
    await engine.dispose()
    group = Fleet(fake, tmp_path)
    try:
        yield group
    finally:
        await asyncio.to_thread(group.stop_all)


async def seed(defenders: int, alerts: int, due: datetime) -> None:
    """`defenders` due at `due` (one Telegram chat each) and `alerts` escalating then."""
    before = due - timedelta(hours=1)
    rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in (User, Identity, Schedule, Contact,
                                                              Checkin)}  # fmt: skip

    def person(uid: int) -> None:
        rows[User].append({"id": uid, "display_name": "", "timezone": "UTC", "created_at": before})
        rows[Identity].append({"user_id": uid, "platform": "telegram", "external_id": str(uid),
                               "chat_id": str(uid), "last_seen_at": before})  # fmt: skip

    for uid in range(1, defenders + 1):
        person(uid)
        rows[Schedule].append({"user_id": uid, "spec": "daily 09:00", "anchor_at": before,
                               "next_due_at": due, "created_at": before})  # fmt: skip
    for n in range(alerts):
        defender, contact = 10_001 + 2 * n, 10_002 + 2 * n
        person(defender)
        person(contact)
        rows[Contact].append({"defender_id": defender, "contact_id": contact,
                              "created_at": before})  # fmt: skip
        rows[Checkin].append({"user_id": defender, "kind": "scheduled", "due_at": before,
                              "deadline_at": before, "state": "late", "level": 0,
                              "next_action_at": due, "grace_s": 900, "level2_after_s": 1800,
                              "duress": False, "created_at": before})  # fmt: skip
    crypto.configure(KEY)  # names are sealed with the workers' key
    engine = create_engine(PG_URL)
    try:
        async with engine.begin() as conn:
            for model, values in rows.items():
                if values:
                    await conn.execute(insert(model), values)
    finally:
        await engine.dispose()


async def until(check: Any, timeout: float, fleet: Fleet) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            got = len(fleet.fake.sent)
            pytest.fail(f"timed out with {got} messages sent; process logs:\n{fleet.logs()}")
        if any(p.poll() not in (None, -9) for p in fleet.procs):
            pytest.fail(f"a process died; logs:\n{fleet.logs()}")
        await asyncio.sleep(0.1)


def per_chat(fake: FakeTelegram) -> Counter[str]:
    return Counter(str(m["chat_id"]) for m in fake.sent)


def welcomed(fake: FakeTelegram) -> set[str]:
    """Chats that got the first-contact greeting (one per /start handled)."""
    return {str(m["chat_id"]) for m in fake.sent if m["text"].startswith("Welcome to Holdfast")}


def chats(ids: range) -> set[str]:
    return {str(i) for i in ids}


@pytest.mark.timeout(150)
async def test_three_workers_send_every_prompt_and_alert_exactly_once(
    fleet: Fleet, fake: FakeTelegram
) -> None:
    await seed(BURST, 50, datetime.now(UTC))
    for _ in range(3):
        fleet.start("worker")
    expected = chats(range(1, BURST + 1)) | chats(range(10_002, 10_102, 2))
    await until(lambda: len(fake.sent) >= len(expected), 120, fleet)
    await asyncio.sleep(2)  # a duplicate would arrive now
    counts = per_chat(fake)
    assert set(counts) == expected
    assert max(counts.values()) == 1
    alerts = [m for m in fake.sent if "SAFETY ALERT" in m.get("text", "")]
    assert len(alerts) == 50


@pytest.mark.timeout(120)
async def test_the_ingest_standby_takes_over_when_the_leader_is_killed(
    fleet: Fleet, fake: FakeTelegram
) -> None:
    fleet.start("worker")
    leader = fleet.start("ingest")
    fake.push_text(101, "/start")
    await until(lambda: welcomed(fake) >= {"101"}, 40, fleet)
    standby = fleet.start("ingest")
    await asyncio.sleep(3)  # the standby is up and waiting for the lease
    leader.send_signal(signal.SIGKILL)
    leader.wait()
    killed = time.monotonic()
    for user in (102, 103, 104):
        fake.push_text(user, "/start")
    await until(lambda: welcomed(fake) >= {"102", "103", "104"}, 40, fleet)
    took = time.monotonic() - killed
    await asyncio.sleep(2)
    sent = Counter((str(m["chat_id"]), m["text"]) for m in fake.sent)
    assert max(sent.values()) == 1  # no update handled twice, no message sent twice
    told = [m["text"] for m in fake.sent if m["chat_id"] == OPERATOR]
    assert len(told) == 1 and "now receives telegram messages" in told[0]
    # ops.failover is 5 s; the reply also waits for a worker's delivery poll.
    assert took < 5 + 5, took
    assert standby.poll() is None
