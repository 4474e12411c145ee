"""Materialise due occurrences of schedules, idempotently.

A claimed schedule becomes one check-in row (`UNIQUE(schedule_id, due_at)` with ON
CONFLICT DO NOTHING, so any number of ticks or workers may try) plus its prompt in
the outbox, and moves to its next occurrence — all in the tick's transaction.

Occurrences missed while the bot was down are not replayed one by one: the latest
one fires (late), older ones are skipped, and the defender gets the full response
window from when the prompt actually goes out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.durations import format_duration
from bot.core.lifecycle import Kind, State, first_deadline
from bot.core.model import Address, Choice, MessageKind, Outgoing
from bot.core.schedules import next_due, parse_schedule
from bot.i18n import t
from bot.runtime import Runtime
from bot.store import checkins as checkin_store
from bot.store import outbox
from bot.store.models import Group, User


def policy(rt: Runtime, group: Group | None) -> tuple[timedelta, timedelta, timedelta]:
    """(response_window, grace, level2_after) for a check-in: the group's, else the defaults."""
    c = rt.settings.checkins

    def pick(seconds: int | None, default: timedelta) -> timedelta:
        return timedelta(seconds=seconds) if seconds else default

    if group is None:
        return c.response_window, c.grace, c.level2_after
    return (
        pick(group.response_window_s, c.response_window),
        pick(group.grace_s, c.grace),
        pick(group.level2_after_s, c.level2_after),
    )


def user_zone(rt: Runtime, user: User) -> ZoneInfo:
    """The defender's time zone, or the configured default."""
    return ZoneInfo(user.timezone or rt.settings.checkins.default_timezone)


def following(
    spec_text: str, tz: ZoneInfo, anchor: datetime, due_at: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """The occurrence to fire now (the latest one due) and the one after it."""
    spec = parse_schedule(spec_text)
    fire_at = due_at
    upcoming = next_due(spec, tz, due_at, anchor)
    while upcoming <= now:  # skip occurrences missed while the bot was down
        fire_at, upcoming = upcoming, next_due(spec, tz, upcoming, anchor)
    return fire_at, upcoming


async def materialise(
    session: AsyncSession,
    rt: Runtime,
    row: Row[Any],
    user: User,
    address: Address | None,
    group: Group | None,
    now: datetime,
) -> bool:
    """Turn one claimed schedule into a check-in and its prompt; returns True if prompted."""
    tz = user_zone(rt, user)
    fire_at, upcoming = following(row.spec, tz, row.anchor_at, row.next_due_at, now)
    if not await checkin_store.advance_schedule(
        session, row.id, rt.worker_id, row.next_due_at, upcoming
    ):
        return False  # another worker moved it on
    if user.paused_until is not None and user.paused_until > now:
        return False  # paused: no prompt, no escalation
    window, grace, level2_after = policy(rt, group)
    deadline = first_deadline(fire_at, now, window)
    checkin_id = await checkin_store.create_checkin(
        session, user_id=row.user_id, schedule_id=row.id, group_id=row.group_id,
        kind=Kind.SCHEDULED.value, due_at=fire_at, deadline_at=deadline,
        state=State.PENDING.value, level=0, next_action_at=deadline,
        grace_s=int(grace.total_seconds()), level2_after_s=int(level2_after.total_seconds()),
        duress=False, created_at=now,
    )  # fmt: skip
    if checkin_id is None or address is None:
        return False
    await outbox.enqueue(
        session, prompt(address, user.lang, window, grace), now=now, user_id=row.user_id,
        dedupe_key=f"prompt:{checkin_id}",
    )  # fmt: skip
    return True


def prompt(to: Address, lang: str, window: timedelta, grace: timedelta) -> Outgoing:
    """The "are you safe?" message with its two buttons."""
    text = t("prompt.text", lang, window=format_duration(window), grace=format_duration(grace))
    choices = ((Choice(t("prompt.safe", lang), "/ok"), Choice(t("prompt.help", lang), "/sos")),)
    return Outgoing(to, text, choices, kind=MessageKind.PROMPT)
