"""`run_once(now)`: claim everything due and act on it, batch by batch.

Each batch is one transaction: claim (one statement), decide in core, apply with
conditional updates, queue messages. A crash rolls the batch back and the next tick
claims it again; a second worker skips rows this one holds (`SKIP LOCKED`). Tests
call `run_once` directly with a fake clock; the APScheduler job in `tick.py` calls it
in production.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot import reach as contact_reach
from bot.core.escalation import who_is_told
from bot.core.lifecycle import Kind, Reach
from bot.core.model import Address, Choice, MessageKind, Outgoing
from bot.i18n import t
from bot.i18n.dates import duration
from bot.runtime import Runtime
from bot.scheduler import wellbeing
from bot.scheduler.recurrence import materialise
from bot.store import chats, claims, outbox
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import groups as group_store
from bot.store import privacy as privacy_store
from bot.store import users as user_store
from bot.store.db import transaction
from bot.store.models import Group, User

log = logging.getLogger(__name__)

BATCH = 500
#: Retention purges scan history, not due work: at most once an hour per process.
PURGE_EVERY = timedelta(hours=1)
#: Handled inbound update ids are kept this long (platforms redeliver for a day at most).
INBOUND_KEEP = timedelta(days=2)
#: When each runtime (by worker id) last purged.
_last_purge: dict[str, datetime] = {}


@dataclass
class TickReport:
    """What one `run_once` did (for logs, tests and the benchmark)."""

    prompts: int = 0
    steps: int = 0
    pauses_ended: int = 0
    weekly: int = 0
    purged: int = 0
    rechecks: int = 0  # contact re-check questions and "none left" warnings queued

    @property
    def anything(self) -> bool:
        """True if the tick did any work."""
        return bool(self.prompts or self.steps or self.pauses_ended or self.weekly or self.rechecks)


async def run_once(rt: Runtime, now: datetime | None = None, batch: int = BATCH) -> TickReport:
    """Process all work due at `now` (default: the runtime clock).

    One indexed probe first: an idle tick (the common case) is a single short
    transaction, and only the kinds of work found due are claimed.
    """
    now = now or rt.clock.now()
    report = TickReport()
    async with transaction(rt.sessions) as session:
        schedules_due, checkins_due, pauses_due = await claims.what_is_due(session, now)
    # Alerts before prompts: escalations are queued (and committed) first, so a delivery
    # worker running beside this tick never sees a prompt before the alerts due with it.
    while checkins_due and (m := await _checkin_batch(rt, now, batch)) is not None:
        report.steps += m[0]
        if m[1] < batch:
            break
    while schedules_due and (n := await _schedule_batch(rt, now, batch)) is not None:
        report.prompts += n[0]
        if n[1] < batch:
            break
    if pauses_due:
        report.pauses_ended = await _pause_ends(rt, now)
    report.weekly = await wellbeing.run_once(rt, now)  # well-being: no check-in, no alert
    report.rechecks = await contact_reach.run_once(rt, now)
    report.purged = await _purge(rt, now)
    await rt.run_deferred(now)  # commands kept for an alert now closed (also after a restart)
    if report.anything:
        rt.on_queued()
        log.info(
            "tick",
            extra={"action": "scheduler.tick", "prompts": report.prompts, "steps": report.steps},
        )
    return report


async def _context(
    session: AsyncSession, user_ids: set[int], group_ids: set[int]
) -> tuple[dict[int, User], dict[int, Address], dict[int, Group]]:
    users = await user_store.users_by_id(session, user_ids)
    groups = await group_store.groups_by_id(session, group_ids)
    return users, await user_store.addresses_of(session, user_ids), groups


async def _schedule_batch(rt: Runtime, now: datetime, batch: int) -> tuple[int, int] | None:
    async with transaction(rt.sessions) as session:
        rows = await claims.claim_schedules(session, worker=rt.worker_id, now=now, limit=batch)
        if not rows:
            return None
        users, addresses, groups = await _context(
            session, {r.user_id for r in rows}, {r.group_id for r in rows if r.group_id}
        )
        prompted = await materialise(session, rt, rows, users, addresses, groups, now)
        return prompted, len(rows)


async def _checkin_batch(rt: Runtime, now: datetime, batch: int) -> tuple[int, int] | None:
    """Claim due check-ins and hand them to the engine; reminders are queued here in bulk."""
    async with transaction(rt.sessions) as session:
        rows = await claims.claim_checkins(session, worker=rt.worker_id, now=now, limit=batch)
        if not rows:
            return None
        done, quiet = await engine.tick_batch(session, rt.settings, list(rows), now)
        reminding = [row for row, plan in quiet if plan.reply == "reminder"]
        people = {row.user_id for row in reminding}
        addresses = await user_store.addresses_of(session, people)
        langs = await user_store.langs_of(session, people)
        reaches = await engine.reach_many(session, list(people))
        reminders = [
            (
                _reminder(
                    addresses[row.user_id],
                    langs.get(row.user_id, "en"),
                    row.kind,
                    timedelta(seconds=row.grace_s),
                    reaches[row.user_id],
                ),
                row.user_id,
                f"remind:{row.id}",
                None,
                row.id,
            )  # fmt: skip
            for row in reminding
            if row.user_id in addresses
        ]
        await outbox.enqueue_many(session, reminders, now=now)
        return done + len(quiet), len(rows)


def _reminder(to: Address, lang: str, kind: str, grace: timedelta, reach: Reach) -> Outgoing:
    key = "reminder.timer" if kind == Kind.TIMER else "reminder.text"
    text = t(key, lang, grace=duration(grace, lang), who=t(who_is_told(reach), lang))
    choices = ((Choice(t("prompt.safe", lang), "/ok"), Choice(t("prompt.help", lang), "/sos")),)
    return Outgoing(to, text, choices, kind=MessageKind.REMINDER)


async def _pause_ends(rt: Runtime, now: datetime) -> int:
    async with transaction(rt.sessions) as session:
        rows = await claims.claim_pause_ends(session, now=now, limit=BATCH)
        addresses = await user_store.addresses_of(session, [r.id for r in rows])
        for r in rows:
            if r.id in addresses:
                await outbox.enqueue(
                    session,
                    Outgoing(addresses[r.id], t("pause.ended", r.lang), kind=MessageKind.INFO),
                    now=now, user_id=r.id,
                )  # fmt: skip
        return len(rows)


async def _purge(rt: Runtime, now: datetime) -> int:
    """Delete what is older than `security.retention`; never anything open or unsent.

    Closed check-ins go with their (resolved) alerts; sent messages go, pending and
    failed ones stay; handled inbound ids go after `INBOUND_KEEP`; the farewell
    message of an erased person goes as soon as it was sent.
    """
    last = _last_purge.get(rt.worker_id)
    if last is not None and last <= now < last + PURGE_EVERY:
        return 0
    _last_purge[rt.worker_id] = now
    before = now - rt.settings.security.retention
    checkins = 0
    while True:  # purge_history deletes in bounded batches: one short transaction each
        async with transaction(rt.sessions) as session:
            n = await checkin_store.purge_history(session, before)
        checkins += n
        if not n:
            break
    async with transaction(rt.sessions) as session:
        messages = await outbox.purge_sent(session, before)
        messages += await privacy_store.purge_farewells(session)
        inbound = await chats.purge_inbound(session, now - INBOUND_KEEP)
        inbound += await contact_store.purge_ended_invites(session, now)
    messages += await wellbeing.purge(rt, now)  # answers past retention, sent pictures
    log.info(
        "purged",
        extra={
            "action": "scheduler.purge",
            "checkins": checkins,
            "messages": messages,
            "inbound": inbound,
        },
    )
    return checkins + messages + inbound
