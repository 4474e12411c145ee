"""The well-being half of a tick: weekly words that are due, and well-being retention.

Kept apart from the check-in engine in `due.py` (one call from its `run_once`):
nothing here alerts anyone or touches a check-in. A weekly word is one private
message with last week's picture and one kind sentence; its row moves to the next
week in the same transaction that queues it, so a crash repeats nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import wellbeing as rules
from bot.core.model import MessageKind, Outgoing
from bot.i18n import t
from bot.runtime import Runtime
from bot.store import outbox
from bot.store import users as user_store
from bot.store import wellbeing as store
from bot.store.db import transaction
from bot.store.models import User

log = logging.getLogger(__name__)

#: Weekly words per transaction (each one draws a picture, ~0.1 s in a thread).
BATCH = 20
#: Dedupe-key prefix of pictures (the same as `/wellbeing`'s): deleted once sent.
CHART = "chart:"
#: Pictures queued this far back are looked at by each (hourly) purge.
PICTURES_SINCE = timedelta(hours=3)


async def run_once(rt: Runtime, now: datetime) -> int:
    """Queue every weekly word due at `now`; returns how many."""
    sent = 0
    while True:
        async with transaction(rt.sessions) as session:
            due = await store.claim_weekly(session, now, BATCH)
            for user_id in due:
                sent += await _weekly(rt, session, user_id, now)
        if len(due) < BATCH:
            break
    if sent:
        rt.on_queued()
        log.info("weekly words", extra={"action": "wellbeing.weekly", "count": sent})
    return sent


async def _weekly(rt: Runtime, session: AsyncSession, user_id: int, now: datetime) -> int:
    user = await session.get_one(User, user_id)
    prefs = await store.prefs(session, user_id)
    zone = ZoneInfo(user.timezone or rt.settings.checkins.default_timezone)
    if prefs.weekly_day is None:
        prefs.weekly_next_at = None
        return 0
    prefs.weekly_next_at = rules.next_weekly(now, zone, prefs.weekly_day)
    address = await user_store.address_of(session, user_id)
    if address is None:
        return 0
    lang = user.lang or "en"
    entries = await store.history(session, user_id, now - 3 * rules.WEEK)
    trend = t(f"wellbeing.caption_{rules.trend(entries, now).value}", lang)
    caption = t("wellbeing.weekly_caption", lang, trend=trend)
    week = [e for e in entries if now - e.at < rules.WEEK]
    if not week:
        out = Outgoing(address, caption, kind=MessageKind.INFO)
        await outbox.enqueue(session, out, now=now, user_id=user_id)
        return 1
    from bot import wellbeing_chart  # loads matplotlib on first use only

    out = await wellbeing_chart.picture(address, week, now=now, zone=zone, count=7, caption=caption)
    key = f"{CHART}weekly:{user_id}:{int(now.timestamp())}"
    await outbox.enqueue(
        session, out.evolve(kind=MessageKind.INFO), now=now, user_id=user_id, dedupe_key=key
    )
    return 1


async def purge(rt: Runtime, now: datetime) -> int:
    """Delete answers past retention (a year for who chose it) and sent pictures."""
    before = now - rt.settings.security.retention
    long_before = now - rules.retention(rt.settings.security.retention, keep_long=True)
    async with transaction(rt.sessions) as session:
        n = await store.purge(session, before, long_before)
        n += await store.purge_pictures(session, CHART, now - PICTURES_SINCE)
    return n
