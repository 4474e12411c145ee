"""Outages are told, not guessed: what happens at start-up after the bot was down.

Every healthy tick records its time (`ops_beats`, "tick"). A scheduler process
that starts after a gap longer than `core.outage.outage_threshold` (the grace, or
the 24 hours Telegram keeps updates) runs `tell_if_outage` once its transports
have taken in what the platforms kept, and before its first tick:

- check-ins that fell due in the gap are not escalated as "missed": open ones that
  alerted nobody get a fresh response window and a fresh prompt, and schedules due
  in the gap are prompted by the first tick as usual (the latest occurrence only);
- each of those defenders' contacts (else their group's organisers and alert
  chats, as for an alert) is asked to check on them, with the gap's start and end;
- the operators get one report: since when, until when, how many check-ins.

One compare-and-set on the beat makes one process tell it, however many start.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.core.model import Address, MessageKind, Outgoing
from bot.core.outage import is_outage
from bot.core.text import clean_name
from bot.i18n import t
from bot.i18n.dates import local_time
from bot.ops.report import OpsEvent, report
from bot.runtime import Runtime
from bot.scheduler.recurrence import prompt
from bot.store import contacts as contact_store
from bot.store import groups as group_store
from bot.store import ops as ops_store
from bot.store import outbox
from bot.store import users as user_store
from bot.store.db import transaction

log = logging.getLogger(__name__)


async def tell_if_outage(rt: Runtime, now: datetime | None = None) -> int:
    """Tell people about the outage that ends now, if there was one; returns check-ins affected."""
    now = now or rt.clock.now()
    grace = rt.settings.checkins.grace
    async with transaction(rt.sessions) as session:
        last = await ops_store.last_beat(session, "tick")
        if last is None or not is_outage(last, now, grace):
            return 0
        if not await ops_store.take_outage(session, last, now):
            return 0  # another process is telling it
        count = await _tell(session, rt, last, now)
    rt.on_queued()
    return count


async def _tell(session: AsyncSession, rt: Runtime, since: datetime, now: datetime) -> int:
    checkins = await ops_store.overdue_unalerted(session, now)
    schedules = await ops_store.schedules_overdue(session, now)
    window = rt.settings.checkins.response_window
    await ops_store.restart_checkins(session, [r.id for r in checkins], now, window)
    # A defender with a schedule due is prompted by the first tick; one prompt is enough.
    prompted = {r.user_id for r in schedules}
    fresh = {r.user_id: r.id for r in checkins if r.user_id not in prompted}
    defenders = sorted({r.user_id for r in checkins} | prompted)
    await _prompt(session, rt, fresh, now)
    told = await _ask_to_check(session, rt, defenders, since, now)
    count = len(checkins) + len(schedules)
    await report(
        session, rt.settings, OpsEvent.OUTAGE_DETECTED, now,
        dedupe=f"outage:{since.isoformat()}",
        since=_utc(since), until=_utc(now), count=count,
    )  # fmt: skip
    log.warning(
        "outage told",
        extra={"action": "ops.outage", "checkins": count, "defenders": len(defenders),
               "told": told, "gap_s": int((now - since).total_seconds())},
    )  # fmt: skip
    return count


async def _prompt(session: AsyncSession, rt: Runtime, fresh: dict[int, int], now: datetime) -> None:
    addresses = await user_store.addresses_of(session, fresh)
    langs = await user_store.langs_of(session, fresh)
    reaches = await engine.reach_many(session, list(fresh))
    c = rt.settings.checkins
    messages = [
        (
            prompt(addresses[uid], langs.get(uid, "en"), c.response_window, c.grace, reaches[uid]),
            uid,
            f"prompt:{checkin_id}:after:{now.isoformat()}",
            None,
            checkin_id,
        )
        for uid, checkin_id in fresh.items()
        if uid in addresses
    ]
    await outbox.enqueue_many(session, messages, now=now)


async def _ask_to_check(
    session: AsyncSession, rt: Runtime, defenders: list[int], since: datetime, now: datetime
) -> int:
    """Ask each defender's contacts (else level 2) to check on them; returns messages queued."""
    contacts = await contact_store.contact_ids_many(session, defenders)
    alone = [uid for uid in defenders if not contacts.get(uid)]
    level2 = await group_store.level2_targets_many(session, alone)
    targets: dict[int, tuple[list[int], list[Address]]] = {
        uid: (contacts[uid], []) if contacts.get(uid) else level2.get(uid, ([], []))
        for uid in defenders
    }
    ids = {p for people, _ in targets.values() for p in people}
    addresses = await user_store.addresses_of(session, ids)
    about = await ops_store.people(session, ids)
    names = await user_store.names_of(session, defenders)
    default_zone = rt.settings.checkins.default_timezone
    messages = []
    for uid, (people, chats) in targets.items():
        name = clean_name(names.get(uid, ""))
        recipients: list[tuple[Address, int | None, str, str | None]] = [
            (addresses[p], p, *about.get(p, ("en", None))) for p in people if p in addresses
        ]
        recipients += [(chat, None, "en", None) for chat in chats]
        for address, person, lang, zone in recipients:
            tz = ZoneInfo(zone or default_zone)
            text = t("outage.check_on", lang, name=name, since=local_time(since, tz, lang),
                     until=local_time(now, tz, lang))  # fmt: skip
            out = Outgoing(address, text, kind=MessageKind.ALERT)
            key = f"outage:{int(since.timestamp())}:{uid}:{address}"
            messages.append((out, person, key))
    return await outbox.enqueue_many(session, messages, now=now)


def _utc(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"
