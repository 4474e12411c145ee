"""An answer racing the escalation tick at the deadline ends in exactly one outcome (acceptance 3).

One database per test, many check-ins (one defender each, with one trusted contact).
For each check-in, at its deadline, the defender's "ok" (through the real router,
in its own session and transaction) and `due.run_once` (in its own) run together
with random jitter before each side, in random order. Afterwards, per check-in:

- answered first: `ok`, no alert row and no alert message; or
- escalated first: `resolved`, every alert resolved, and an all-clear queued to every
  person who was alerted;

never an alert left standing after the answer was recorded. Check-ins still before
their reminder race the same way and may never end with an alert.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bot.core.model import Address, Incoming, Sender
from bot.scheduler import due
from bot.store.models import Alert, AlertRecipient, Checkin, Contact, Identity, Outbox, User
from tests.support.clock import FakeClock
from tests.support.harness import Harness

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
GAP = timedelta(seconds=10)  # deadlines are this far apart, so each tick meets one check-in


def deadline(i: int) -> datetime:
    return START + i * GAP


async def seed(h: Harness, n: int) -> None:
    """n defenders d0…, each with contact c0… and one open check-in due at `deadline(i)`.

    Every fourth check-in is still `pending` (the race is with the reminder); the
    rest are `late` (the race is with the level-1 alert).
    """
    users, idents, links, checkins = [], [], [], []
    for i in range(n):
        d, c = 2 * i + 1, 2 * i + 2
        for uid, name in ((d, f"d{i}"), (c, f"c{i}")):
            users.append({"id": uid, "display_name": name.capitalize(), "lang": "en",
                          "created_at": START})  # fmt: skip
            idents.append({"user_id": uid, "platform": "console", "external_id": name,
                           "chat_id": name, "last_seen_at": START})  # fmt: skip
        links.append({"defender_id": d, "contact_id": c, "created_at": START})
        state = "pending" if i % 4 == 0 else "late"
        checkins.append({
            "id": i + 1, "user_id": d, "kind": "scheduled",
            "due_at": deadline(i) - timedelta(minutes=45),
            "deadline_at": deadline(i) - timedelta(minutes=15), "state": state, "level": 0,
            "next_action_at": deadline(i), "grace_s": 900, "level2_after_s": 1800,
            "created_at": START - timedelta(hours=1),
        })  # fmt: skip
    async with h.app.rt.sessions() as session, session.begin():
        for model, rows in (
            (User, users),
            (Identity, idents),
            (Contact, links),
            (Checkin, checkins),
        ):
            await session.execute(insert(model), rows)


async def jitter(rng: random.Random) -> None:
    """Nothing, a few event-loop turns, or a short real sleep: varied interleavings."""
    roll = rng.random()
    if roll < 0.3:
        return
    if roll < 0.7:
        for _ in range(rng.randint(1, 30)):
            await asyncio.sleep(0)
        return
    await asyncio.sleep(rng.uniform(0, 0.004))


async def answer(h: Harness, i: int, rng: random.Random) -> None:
    await jitter(rng)
    sender = Sender("console", f"d{i}", f"D{i}")
    await h.app.router.handle(Incoming(sender, Address("console", f"d{i}"), True, text="ok"))


async def tick(h: Harness, now: datetime, rng: random.Random) -> due.TickReport:
    await jitter(rng)
    return await due.run_once(h.app.rt, now)


async def outcomes(h: Harness, n: int) -> Counter[str]:
    """Check every check-in's end state; returns how many ended which way."""
    async with h.app.rt.sessions() as session:
        states = dict((await session.execute(select(Checkin.id, Checkin.state))).all())
        alerts = (await session.execute(select(Alert.checkin_id, Alert.resolved_at))).all()
        told = (
            await session.execute(
                select(Alert.checkin_id, AlertRecipient.platform, AlertRecipient.chat_id).join(
                    AlertRecipient, AlertRecipient.alert_id == Alert.id
                )
            )
        ).all()
        keys = list((await session.execute(select(Outbox.dedupe_key))).scalars())
    seen: Counter[str] = Counter()
    for i in range(n):
        cid = i + 1
        raised = [resolved for checkin_id, resolved in alerts if checkin_id == cid]
        alerted = {f"{p}:{chat}" for checkin_id, p, chat in told if checkin_id == cid}
        alert_msgs = {k.split(":", 3)[3] for k in keys if k and k.startswith(f"alert:{cid}:")}
        clears = {k.split(":", 2)[2] for k in keys if k and k.startswith(f"clear:{cid}:")}
        state = states[cid]
        if state == "ok":
            assert not raised and not alert_msgs and not clears, (cid, raised, alert_msgs)
        else:
            assert state == "resolved", (cid, state)
            assert i % 4 != 0, f"check-in {cid} was alerted before its reminder"
            assert raised and all(r is not None for r in raised), (cid, raised)
            assert alerted == alert_msgs == clears == {f"console:c{i}"}, (cid, alerted, clears)
        seen[f"{'pending' if i % 4 == 0 else 'late'}->{state}"] += 1
    return seen


async def race(url: str, n: int, seed_value: int) -> Counter[str]:
    rng = random.Random(seed_value)
    clock = FakeClock(START - timedelta(minutes=1))
    async with Harness(url, clock) as h:
        await seed(h, n)
        for i in range(n):
            h.clock.set(deadline(i))
            sides = [answer(h, i, rng), tick(h, deadline(i), rng)]
            rng.shuffle(sides)
            await asyncio.gather(*sides)
        # later ticks find nothing to escalate: every answer stood
        later = await due.run_once(h.app.rt, deadline(n) + timedelta(hours=3))
        assert later.steps == 0
        return await outcomes(h, n)


async def test_answer_and_escalation_race(db_url: str) -> None:
    n = 300 if db_url.startswith("sqlite") else 100
    seen = await race(db_url, n, seed_value=20260601)
    assert sum(seen.values()) == n
    # the race really went both ways
    assert seen["late->ok"] > 0 and seen["late->resolved"] > 0, seen
