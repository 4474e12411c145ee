"""How long a defender waits for the reply to a duress answer, with 1 or many recipients.

The whole app runs with the real Telegram transport (python-telegram-bot, with its
send pacing) against the fake Bot API enforcing Telegram's flood limits. Each run is
a fresh defender (their own chat, so the per-chat limit never carries over) who
sends their duress word; every defender shares the same `recipients` trusted
contacts, so each run raises one silent alert to all of them. The latency is from
pushing the update into the fake to the fake recording the reply in the defender's
chat (one monotonic clock). Between runs the alerts drain, so no run waits behind
the last one's alerts. Used by `bench/duress_latency.py` and its test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.store import crypto
from bot.store.db import create_engine
from bot.store.migrate import upgrade
from bot.store.models import Contact, Identity, User
from bot.transports.telegram import Limits
from tests.support.clock import FakeClock
from tests.support.harness import TEST_KEY
from tests.support.servers.fake_telegram import FakeTelegram
from tests.support.signal_harness import handled
from tests.support.telegram_harness import fast_telegram, telegram_app

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
WORD = "falcon"
DEFENDERS, CONTACTS = 700_000, 800_000  # Telegram user ids (= private chat ids)
#: Telegram's limits, as the transport's pacer and the fake both enforce them.
TELEGRAM = Limits()


@dataclass
class Timing:
    """Reply latencies (seconds) of one configuration, and what the contacts got."""

    recipients: int
    latencies: list[float] = field(default_factory=list)
    alerts: int = 0
    too_many: int = 0


async def seed(url: str, runs: int, recipients: int) -> None:
    """`runs` defenders with the duress word, each with the same `recipients` contacts."""
    duress = crypto.hash_secret(WORD)
    users: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for i in range(runs):
        users.append({"id": i + 1, "display_name": f"D{i}", "timezone": "UTC", "created_at": T0,
                      "duress_hash": duress, "privacy_notice_at": T0})  # fmt: skip
        identities.append(_identity(i + 1, DEFENDERS + i))
        for c in range(recipients):
            links.append({"defender_id": i + 1, "contact_id": 10_000 + c, "created_at": T0})
    for c in range(recipients):
        users.append({"id": 10_000 + c, "display_name": f"C{c}", "timezone": "UTC",
                      "created_at": T0, "duress_hash": None,
                      "privacy_notice_at": T0})  # fmt: skip
        identities.append(_identity(10_000 + c, CONTACTS + c))
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            for model, rows in ((User, users), (Identity, identities), (Contact, links)):
                await conn.execute(insert(model), rows)
    finally:
        await engine.dispose()


def _identity(user_id: int, chat: int) -> dict[str, Any]:
    return {"user_id": user_id, "platform": "telegram", "external_id": str(chat),
            "chat_id": str(chat), "last_seen_at": T0}  # fmt: skip


async def measure(folder: Path, runs: int, recipients: int, limits: Limits = TELEGRAM) -> Timing:
    """Reply latency of `runs` duress answers, each alerting `recipients` people."""
    crypto.configure(TEST_KEY)
    url = f"sqlite+aiosqlite:///{folder}/duress-{recipients}.db"
    await seed(url, runs, recipients)
    timing = Timing(recipients)
    async with FakeTelegram() as fake:
        fake.enforce_limits(limits.global_per_second, 1 / max(limits.per_chat_interval, 1e-3))
        transport = fast_telegram(fake, limits=limits, pacing=True)
        async with telegram_app(url, FakeClock(T0), fake, transport=transport) as tg:
            for i in range(runs):
                chat = DEFENDERS + i
                tg.h.clock.advance(timedelta(minutes=1))  # one answer a minute: no flood guard
                before = len(fake.sent)
                pushed = time.monotonic()
                update_id = fake.push_text(chat, WORD, first_name=f"D{i}")
                await handled(tg.h, "telegram", str(update_id))
                await tg.h.deliver()  # the reply, then every alert (drained before the next run)
                mine = [s for s in fake.sent[before:] if s["chat_id"] == chat]
                assert mine, f"run {i}: no reply"
                timing.latencies.append(mine[0]["time"] - pushed)
                timing.alerts += sum(1 for s in fake.sent[before:] if s["chat_id"] >= CONTACTS)
        timing.too_many = fake.too_many
    return timing
