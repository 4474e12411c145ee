"""Materialise due occurrences of schedules, idempotently.

A claimed schedule becomes one check-in row (`UNIQUE(schedule_id, due_at)` with ON
CONFLICT DO NOTHING, so any number of ticks or workers may try) plus its prompt in
the outbox, and moves to its next occurrence — all in the tick's transaction.

Occurrences missed while the bot was down are not replayed one by one: the latest
one fires (late), older ones are skipped, and the defender gets the full response
window from when the prompt actually goes out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.core.escalation import who_is_told
from bot.core.lifecycle import Kind, Reach, State, first_deadline, pause_stops, paused_now
from bot.core.model import Address, Choice, MessageKind, Outgoing
from bot.core.schedules import next_due, parse_schedule
from bot.i18n import t
from bot.i18n.dates import duration
from bot.runtime import Runtime
from bot.store import checkins as checkin_store
from bot.store import outbox
from bot.store.models import Group, User


class ClaimedSchedule(Protocol):
    """What a claimed schedule row carries (the store's claim returns such rows)."""

    id: int
    user_id: int
    group_id: int | None
    spec: str
    anchor_at: datetime
    next_due_at: datetime


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
    rows: Sequence[ClaimedSchedule],
    users: Mapping[int, User],
    addresses: Mapping[int, Address],
    groups: Mapping[int, Group],
    now: datetime,
) -> int:
    """Turn a batch of claimed schedules into check-ins and prompts; returns prompts queued.

    The decisions are made in Python, then written with three statements for the
    whole batch (move the schedules on, insert the check-ins, queue the prompts), so
    a morning burst of thousands costs a few round trips per 500, not three each.
    """
    moves: list[tuple[int, datetime, datetime]] = []
    new_rows: list[dict[str, Any]] = []
    window_of: dict[int, tuple[timedelta, timedelta]] = {}
    for row in rows:
        user = users[row.user_id]
        fire_at, upcoming = following(
            row.spec, user_zone(rt, user), row.anchor_at, row.next_due_at, now
        )
        moves.append((row.id, row.next_due_at, upcoming))
        if pause_stops(Kind.SCHEDULED) and paused_now(user.paused_until, now):
            continue  # paused: no prompt, no escalation
        group = groups.get(row.group_id) if row.group_id else None
        window, grace, level2_after = policy(rt, group)
        window_of[row.id] = (window, grace)
        deadline = first_deadline(fire_at, now, window)
        new_rows.append(
            dict(
                user_id=row.user_id, schedule_id=row.id, group_id=row.group_id,
                kind=Kind.SCHEDULED.value, due_at=fire_at, deadline_at=deadline,
                state=State.PENDING.value, level=0, next_action_at=deadline,
                grace_s=int(grace.total_seconds()),
                level2_after_s=int(level2_after.total_seconds()), created_at=now,
                window_s=int(window.total_seconds()),
            )
        )  # fmt: skip
    await checkin_store.advance_schedules(session, rt.worker_id, moves)
    created = await checkin_store.create_scheduled(session, new_rows)
    owner = {row.id: row.user_id for row in rows}
    reaches = await engine.reach_many(session, [owner[s] for s in created])
    messages = []
    for schedule_id, checkin_id in created.items():
        user_id = owner[schedule_id]
        address = addresses.get(user_id)
        if address is not None:
            window, grace = window_of[schedule_id]
            out = prompt(address, users[user_id].lang, window, grace, reaches[user_id])
            messages.append((out, user_id, f"prompt:{checkin_id}", None, checkin_id))
    return await outbox.enqueue_many(session, messages, now=now)


def prompt(to: Address, lang: str, window: timedelta, grace: timedelta, reach: Reach) -> Outgoing:
    """The "are you safe?" message with its two buttons, saying who would be alerted."""
    who = t(who_is_told(reach), lang)
    text = t(
        "prompt.text", lang, window=duration(window, lang), grace=duration(grace, lang), who=who
    )
    choices = ((Choice(t("prompt.safe", lang), "/ok"), Choice(t("prompt.help", lang), "/sos")),)
    return Outgoing(to, text, choices, kind=MessageKind.PROMPT)
