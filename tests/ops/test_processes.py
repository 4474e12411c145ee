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

import asyncpg
import pytest
from sqlalchemy import insert, make_url

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


async def seed(
    defenders: int, alerts: int, due: datetime, alert_at: datetime | None = None
) -> None:
    """`defenders` due at `due` (one Telegram chat each) and `alerts` escalating then.

    The check-ins of the `alerts` defenders (10_001, 10_003, …; their contacts are
    10_002, 10_004, …) are late and escalate at `alert_at` (default: `due`).
    """
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
                              "next_action_at": alert_at or due, "grace_s": 900,
                              "level2_after_s": 1800,
                              "created_at": before})  # fmt: skip
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


def duplicates(fake: FakeTelegram) -> int:
    """Messages a chat received more than once (a prompt or an alert sent twice)."""
    return sum(n - 1 for n in Counter((str(m["chat_id"]), m["text"]) for m in fake.sent).values())


def sender(fleet: Fleet) -> subprocess.Popen[bytes]:
    """The worker process that holds the Telegram send lease (from its log)."""
    for index, proc in enumerate(fleet.procs):
        for path in fleet.tmp.glob(f"*-{index}.log"):
            if "lease taken action=ops.lease leading=True lease=send:telegram" in path.read_text(
                errors="replace"
            ):
                return proc
    pytest.fail(f"no process took the send lease; logs:\n{fleet.logs()}")


class Admin:
    """The PostgreSQL server as its operator sees it, from the maintenance database."""

    def __init__(self) -> None:
        url = make_url(PG_URL)
        self.database = url.database or ""
        self._connect = {"host": url.host, "port": url.port or 5432, "user": url.username,
                         "password": url.password, "database": "postgres"}  # fmt: skip

    async def _run(self, sql: str) -> None:
        conn = await asyncpg.connect(**self._connect)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def cut(self) -> None:
        """End every connection to the test database (`pg_terminate_backend`)."""
        await self._run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.database}' AND pid <> pg_backend_pid()"
        )

    async def refuse(self) -> None:
        """The test database takes no connections, and loses the ones it had."""
        await self._run(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false')
        await self.cut()

    async def allow(self) -> None:
        await self._run(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true')


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


#: Prompts due at once in the fault tests (15 s at Telegram's 30 messages a second).
FAULT_BURST = 450
#: A worker's outbox claims in flight at most (`Delivery` concurrency).
IN_FLIGHT = 64


@pytest.mark.timeout(90)
async def test_a_killed_senders_messages_go_out_from_the_standby_within_seconds_alerts_first(
    fleet: Fleet, fake: FakeTelegram
) -> None:
    # The sender's alert calls get no answer: it holds them when it is killed.
    contacts = range(10_002, 10_012, 2)
    fake.hold_chats({int(c) for c in chats(contacts)})
    await seed(FAULT_BURST, 5, datetime.now(UTC))
    fleet.start("worker")
    fleet.start("worker")
    await until(lambda: fake.holding == 5, 40, fleet)
    # Longer than the outbox lease (8 s): the sender renews its leases meanwhile, so
    # nobody (itself included) takes the alerts it is still sending.
    await asyncio.sleep(10)
    to_contacts = [c for c in fake.calls_of("sendMessage") if str(c["chat_id"]) in chats(contacts)]
    assert len(to_contacts) == 5 and fake.holding == 5
    victim = sender(fleet)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed, before = time.monotonic(), len(fake.sent)
    fake.release_chats()
    expected = chats(range(1, FAULT_BURST + 1)) | chats(contacts)
    await until(lambda: set(per_chat(fake)) >= expected, 60, fleet)
    await asyncio.sleep(2)  # a duplicate would arrive now
    assert set(per_chat(fake)) == expected  # nothing lost
    assert duplicates(fake) <= IN_FLIGHT  # only what the killed worker had in flight
    after = fake.sent[before:]
    alerts = [i for i, m in enumerate(after) if "SAFETY ALERT" in m["text"]]
    assert len(alerts) == 5
    # Taken over at the end of the lease (8 s), not after a minute ...
    assert after[alerts[-1]]["time"] - killed < 15, after[alerts[-1]]["time"] - killed
    # ... and ahead of the prompts still queued: within the standby's first second of slots.
    assert alerts[-1] < 30, alerts
    assert len(after) - len(alerts) > 100  # prompts were still waiting behind them


@pytest.mark.timeout(90)
async def test_connections_cut_mid_burst_lose_nothing_and_kill_no_process(
    fleet: Fleet, fake: FakeTelegram
) -> None:
    admin = Admin()
    await seed(FAULT_BURST, 10, datetime.now(UTC))
    workers = [fleet.start("worker") for _ in range(2)]
    await until(lambda: len(fake.sent) >= 90, 40, fleet)
    await admin.cut()
    await until(lambda: len(fake.sent) >= 250, 40, fleet)  # until() fails if a process died
    await admin.cut()
    expected = chats(range(1, FAULT_BURST + 1)) | chats(range(10_002, 10_022, 2))
    await until(lambda: set(per_chat(fake)) >= expected, 60, fleet)
    await asyncio.sleep(2)
    assert set(per_chat(fake)) == expected
    assert duplicates(fake) <= 2 * IN_FLIGHT  # bounded by what was in flight at each cut
    assert all(proc.poll() is None for proc in workers)


@pytest.mark.timeout(120)
async def test_database_refusing_connections_for_20s_while_defenders_answer(
    fleet: Fleet, fake: FakeTelegram
) -> None:
    admin = Admin()
    start = datetime.now(UTC)
    answering = range(10_001, 10_041, 2)  # 20 defenders whose check-ins escalate at +40 s
    await seed(200, 20, start, alert_at=start + timedelta(seconds=40))
    ingest = fleet.start("ingest")
    workers = [fleet.start("worker") for _ in range(2)]
    await until(lambda: len(fake.sent) >= 30, 40, fleet)
    await admin.refuse()
    try:
        refused = time.monotonic()
        for user in answering:  # they answer while the database is away
            fake.push_text(user, "ok")
            await asyncio.sleep(0.7)
        await asyncio.sleep(max(0.0, refused + 20 - time.monotonic()))
        assert all(proc.poll() is None for proc in fleet.procs)
    finally:
        await admin.allow()
    thanked = lambda: {str(m["chat_id"]) for m in fake.sent  # noqa: E731
                       if m["text"].startswith("Thank you, you are checked in")}  # fmt: skip
    expected = chats(range(1, 201)) | chats(answering)
    await until(
        lambda: thanked() >= chats(answering) and set(per_chat(fake)) >= expected, 40, fleet
    )
    # Past the time the check-ins would have escalated, had an answer been lost.
    wait = (start + timedelta(seconds=44) - datetime.now(UTC)).total_seconds()
    await asyncio.sleep(max(0.0, wait))
    texts = [m["text"] for m in fake.sent]
    assert not [t for t in texts if "SAFETY ALERT" in t]  # no false alert
    assert not set(per_chat(fake)) & chats(range(10_002, 10_042, 2))  # contacts told nothing
    assert sum(t.startswith("Thank you, you are checked in") for t in texts) == 20  # each once
    assert set(per_chat(fake)) >= chats(range(1, 201))  # every prompt delivered
    assert ingest.poll() is None and all(proc.poll() is None for proc in workers)


@pytest.mark.timeout(90)
async def test_three_workers_keep_to_one_bots_rate_with_alerts_first(
    fleet: Fleet, fake: FakeTelegram
) -> None:
    fake.enforce_limits()  # 30 a second per bot, 1 a second per chat: the real 429 beyond
    start = datetime.now(UTC)
    prompts = 600  # 20 s at 30 messages a second
    await seed(prompts, 10, start, alert_at=start + timedelta(seconds=8))
    for _ in range(3):
        fleet.start("worker")
    expected = chats(range(1, prompts + 1)) | chats(range(10_002, 10_022, 2))
    await until(lambda: set(per_chat(fake)) >= expected, 70, fleet)
    await asyncio.sleep(1)
    assert fake.too_many == 0  # not one 429
    assert set(per_chat(fake)) == expected and duplicates(fake) == 0
    kinds = ["alert" if "SAFETY ALERT" in m["text"] else "prompt" for m in fake.sent]
    first, last = kinds.index("alert"), len(kinds) - 1 - kinds[::-1].index("alert")
    # Only prompts already claimed when the alerts were queued (the sender's window)
    # may go between them: no new prompt is claimed while an alert waits.
    assert kinds[first : last + 1].count("prompt") <= IN_FLIGHT, kinds[first : last + 1]
    assert kinds[last + 1 :].count("prompt") > 100  # while hundreds of prompts still waited
    # Sent soon after falling due (+8 s), not behind the backlog (600 prompts, +20 s at
    # 30 a second): the margin allows for process start-up on a loaded 2-core machine.
    wall = time.monotonic() - (datetime.now(UTC) - start).total_seconds()  # `start` on the clock
    assert fake.sent[last]["time"] - wall < 8 + 10, fake.sent[last]["time"] - wall
