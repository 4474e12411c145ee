"""The check-in engine: load what a decision needs, decide in core, apply it in one transaction.

Every event in a check-in's life comes through here — a tick (`tick_batch`), the
defender's answer (`answer`), an SOS or duress (`emergency`), an acknowledgement
(`acknowledge`), a resolve (`resolve`), a send's outcome (`sent`, `unreachable`)
and a recipient leaving (`left`). Each loads the check-in, asks
`bot.core.escalation` for the plan, writes the new state with a conditional update
(the plan is void if the row moved on) and queues the plan's messages in the same
transaction. Handlers and the scheduler pass plain values (ids, times, text); no
rule about who is told what lives outside core.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.core import escalation as core
from bot.core.escalation import Audience, Case, Notice, Plan, Policy
from bot.core.lifecycle import Kind, Reach, State, pause_stops, paused_now
from bot.core.model import MessageKind, Outgoing
from bot.engine import messages
from bot.i18n import t
from bot.ops.report import OpsEvent, report
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import groups as group_store
from bot.store import outbox
from bot.store import privacy as privacy_store
from bot.store import users as user_store

log = logging.getLogger(__name__)

NOBODY = Reach(level1=False, level2=False)

__all__ = [
    "Outcome",
    "acknowledge",
    "answer",
    "delivered",
    "emergency",
    "left",
    "phone_lowered",
    "policy_of",
    "reach",
    "resolve",
    "sent",
    "settle",
    "tick_batch",
    "unreachable",
]


@dataclass(frozen=True)
class Outcome:
    """What the person who acted is told: a catalog key and its parameters."""

    reply: str | None
    params: dict[str, Any]
    done: bool = True


def policy_of(settings: Settings) -> Policy:
    """The open-alert clocks from `[checkins]`."""
    c = settings.checkins
    return Policy(
        repeat_every=c.repeat_every, repeats=c.repeats, ack_timeout=c.ack_timeout,
        retention=settings.security.retention,
    )  # fmt: skip


def case_of(row: Any) -> Case:
    """The core's view of a check-in row (ORM object or claimed row)."""
    return Case(
        kind=checkin_store.kind_of(row), state=State(row.state), level=row.level,
        next_action_at=row.next_action_at, grace=timedelta(seconds=row.grace_s),
        level2_after=timedelta(seconds=row.level2_after_s), acked_by=row.acked_by,
        acked_at=row.acked_at, level2_at=row.level2_at, repeats_sent=row.repeats_sent,
        alerted_at=row.alerted_at, phone_ok_at=row.phone_ok_at,
        window=timedelta(seconds=row.window_s) if row.window_s is not None else None,
        deadline=row.deadline_at, prompted_at=row.prompted_at, last_acked_at=row.last_acked_at,
    )  # fmt: skip


async def reach(session: AsyncSession, user_id: int) -> Reach:
    """Whether anyone would be alerted at level 1 and at level 2."""
    return (await reach_many(session, [user_id]))[user_id]


async def reach_many(session: AsyncSession, user_ids: list[int]) -> dict[int, Reach]:
    """`reach` for several defenders with two queries (a burst of missed check-ins)."""
    contacts = await contact_store.contact_ids_many(session, user_ids)
    level2 = await group_store.level2_targets_many(session, user_ids)
    return {
        uid: Reach(level1=bool(contacts.get(uid)), level2=any(level2.get(uid, ([], []))))
        for uid in user_ids
    }


async def carry_out(
    session: AsyncSession,
    row: Any,
    plan: Plan,
    now: datetime,
    settings: Settings,
    *,
    actor: int | None = None,
    note: str = "",
) -> bool:
    """Apply one plan: the conditional write, then its notices, then its new levels.

    Notices go to the people alerted *before* this plan's new levels, so a level
    raised now is not also told it was repeated. Returns False (and does nothing)
    if the row moved on since it was read.
    """
    if not await checkin_store.apply_plan(session, row.id, plan.before, plan.after):
        return False
    if plan.before.state == State.MISSED and not plan.after.is_open:
        await checkin_store.resolve_alerts(session, row.id, now)
    await _say(session, row, plan, now, policy_of(settings), actor=actor, note=note)
    if plan.raises:
        await messages.raise_levels(session, [(row, r) for r in plan.raises], now)
    await _log(session, settings, row.id, plan, now)
    return True


async def _say(
    session: AsyncSession,
    row: Any,
    plan: Plan,
    now: datetime,
    policy: Policy,
    *,
    actor: int | None = None,
    note: str = "",
) -> None:
    """Queue a plan's notices (the person named as helper: who acted, else who had it)."""
    who = actor if actor is not None else plan.before.acked_by
    for notice in plan.notices:
        await messages.tell(
            session, row, notice, now, actor=who, acked=plan.after.acked_at is not None,
            n=plan.after.repeats_sent, of=policy.repeats, note=note,
        )  # fmt: skip


async def _log(
    session: AsyncSession, settings: Settings, checkin_id: int, plan: Plan, now: datetime
) -> None:
    """Log the plan; when nobody at any level can be reached, tell the operators."""
    if plan.prompt_undelivered:  # the defender was never asked: the operators must know
        await report(
            session, settings, OpsEvent.PROMPT_UNDELIVERABLE, now,
            dedupe=f"prompt:{checkin_id}", checkin_id=checkin_id,
            platform=await checkin_store.platform_of(session, checkin_id),
        )  # fmt: skip
    if plan.tell_operators:
        await report(
            session, settings, OpsEvent.ALERT_UNREACHABLE, now,
            dedupe=str(checkin_id), alert_id=checkin_id, checkin_id=checkin_id,
        )  # fmt: skip
    elif plan.action:
        # An alert raised from a message (SOS, or a duress word inside an OK) is logged at
        # DEBUG: at INFO it would sit next to the answer and tell a duress OK from an OK.
        level = logging.DEBUG if plan.action == "checkin.sos" else logging.INFO
        log.log(level, plan.action, extra={"action": plan.action, "checkin_id": checkin_id,
                                           "levels": list(plan.levels)})  # fmt: skip


# -- ticks -------------------------------------------------------------------------


async def tick_batch(
    session: AsyncSession, settings: Settings, rows: list[Row[Any]], now: datetime
) -> tuple[int, list[tuple[Row[Any], Plan]]]:
    """Decide and apply claimed check-ins; returns (alerts acted on, quiet plans).

    Quiet plans (reminders, pause cancellations) are written with one executemany
    and returned so the scheduler can queue the reminders in bulk.
    """
    policy = policy_of(settings)
    users = await user_store.pause_of(session, {r.user_id for r in rows})
    escalating = [
        r.user_id for r in rows if r.state != State.PENDING or core.awaits_prompt(case_of(r))
    ]
    reaches = await reach_many(session, escalating)  # only escalation needs it
    done = 0
    quiet: list[tuple[Row[Any], Plan]] = []
    raised: list[tuple[Any, core.Raise]] = []
    for row in rows:
        paused = pause_stops(row.kind) and paused_now(users.get(row.user_id), now)
        plan = core.on_tick(case_of(row), now, reaches.get(row.user_id, NOBODY), policy,
                            paused=paused)  # fmt: skip
        if plan is None:
            continue
        if not plan.raises and not plan.notices and not plan.tell_operators:
            quiet.append((row, plan))
            continue
        if not await checkin_store.apply_plan(session, row.id, plan.before, plan.after):
            continue
        done += 1
        if plan.before.state == State.MISSED and not plan.after.is_open:  # closed by time
            await checkin_store.resolve_alerts(session, row.id, now)
        await _say(session, row, plan, now, policy)
        raised += [(row, r) for r in plan.raises]
        await _log(session, settings, row.id, plan, now)
    await messages.raise_levels(session, raised, now)
    await checkin_store.apply_plans(session, [(r.id, p.before, p.after) for r, p in quiet])
    return done, quiet


# -- the defender ------------------------------------------------------------------


async def answer(
    session: AsyncSession,
    settings: Settings,
    user_id: int,
    now: datetime,
    *,
    score: int | None = None,
    note: str | None = None,
    duress: bool = False,
) -> int:
    """The defender answered: every open check-in and timer moves as core decides.

    Returns how many check-ins the answer closed (an SOS it did not close is not
    counted: it stays open until a recipient resolves it).
    """
    policy = policy_of(settings)
    closed: list[int] = []
    for row in await checkin_store.open_for_update(session, user_id):
        plan = core.on_answer(case_of(row), now, policy, duress=duress)
        if plan is None:
            continue
        if await carry_out(session, row, plan, now, settings) and not plan.after.is_open:
            closed.append(row.id)
    await checkin_store.record_answer(session, closed, now, score=score, note=note)
    return len(closed)


async def emergency(
    session: AsyncSession,
    settings: Settings,
    user_id: int,
    kind: Kind,
    message: str | None,
    now: datetime,
) -> Outcome:
    """An SOS or a duress answer: a new alert to every level at once.

    The reply counts the people and chats the alert is going to.
    """
    plan = core.on_emergency(kind, now, await reach(session, user_id), policy_of(settings))
    values = checkin_store.case_values(plan.after)
    checkin_id = await checkin_store.create_checkin(
        session, user_id=user_id, due_at=now, deadline_at=now, message=message, grace_s=0,
        level2_after_s=0, created_at=now, **checkin_store.stored_kind(kind), **values,
    )  # fmt: skip
    row = await checkin_store.checkin_for_update(session, checkin_id or 0)
    assert row is not None  # inserted just above, in this transaction
    told = await messages.raise_levels(session, [(row, r) for r in plan.raises], now)
    await _log(session, settings, checkin_id or 0, plan, now)
    return Outcome(plan.reply, {"count": told})


# -- recipients --------------------------------------------------------------------


async def _find(
    session: AsyncSession, user_id: int, checkin_id: int | None, chat: Any
) -> Any | None:
    row = await checkin_store.alert_for(session, user_id, checkin_id)
    if row is None and chat is not None:
        # Pressed in a bound alert chat: anyone in the chat the alert went to may act.
        row = await group_store.alert_for_chat(session, chat, checkin_id)
    if row is None:
        return None
    return await checkin_store.checkin_for_update(session, row.id)


async def acknowledge(
    session: AsyncSession,
    settings: Settings,
    user_id: int,
    checkin_id: int | None,
    now: datetime,
    *,
    group_chat: Any = None,
) -> Outcome:
    """Acknowledge ("I'm on it"): hold level 2 and the repeats, tell the others who has it."""
    row = await _find(session, user_id, checkin_id, group_chat)
    if row is None:
        return Outcome("ack.none", {}, done=False)
    names = await user_store.names_of(session, [row.user_id, row.acked_by or 0])
    plan = core.on_ack(case_of(row), user_id, now, policy_of(settings))
    if plan is None or not await carry_out(session, row, plan, now, settings, actor=user_id):
        helper = messages.clean_name(names.get(row.acked_by or 0, ""))
        levels = await checkin_store.recipient_levels(session, row.id)
        named = group_chat is not None or any(r.level == 2 and r.user_id == user_id for r in levels)
        key = core.notice_key("ack.already", organiser_or_chat=named)
        return Outcome(key, {"helper": helper}, done=False)
    others = [
        r for r in await checkin_store.recipients_of(session, row.id) if r.user_id != user_id
    ]
    reply = plan.reply if others else "ack.thanks_alone"  # never "the others know" alone
    return Outcome(reply, {"name": messages.clean_name(names.get(row.user_id, ""))})


async def has_open_alert(session: AsyncSession, user_id: int, group_chat: Any = None) -> bool:
    """Whether this person (or this alert chat) has an open alert to act on now."""
    return await _find(session, user_id, None, group_chat) is not None


async def resolve(
    session: AsyncSession,
    settings: Settings,
    user_id: int,
    checkin_id: int | None,
    now: datetime,
    *,
    note: str = "",
    group_chat: Any = None,
) -> Outcome:
    """A recipient says the defender is safe: the alert closes, everyone hears who said so."""
    row = await _find(session, user_id, checkin_id, group_chat)
    if row is None:
        return Outcome("resolve.none", {}, done=False)
    plan = core.on_resolve(case_of(row), user_id, now, with_note=bool(note))
    if plan is None or not await carry_out(
        session, row, plan, now, settings, actor=user_id, note=note
    ):
        return Outcome("resolve.none", {}, done=False)
    names = await user_store.names_of(session, [row.user_id])
    return Outcome(plan.reply, {"name": messages.clean_name(names.get(row.user_id, ""))})


async def left(
    session: AsyncSession,
    settings: Settings,
    person_id: int,
    defender_ids: list[int],
    now: datetime,
) -> int:
    """A contact link or organiser role ended: the person leaves these defenders' open alerts."""
    ids = await checkin_store.open_alerts_with(session, person_id, defender_ids)
    for checkin_id in ids:
        row = await checkin_store.checkin_for_update(session, checkin_id)
        await checkin_store.leave_alert(session, checkin_id, person_id)
        plan = core.on_left(case_of(row), person_id, now, policy_of(settings)) if row else None
        if plan is not None:
            await carry_out(session, row, plan, now, settings)
    return len(ids)


async def phone_lowered(
    session: AsyncSession, checkin_ids: list[int], command: str, now: datetime
) -> int:
    """The defender's phone sent a command that lowers protection while these alerts were open.

    Everyone still in each alert hears it once, at alert priority, as a sign of danger
    (`bot.core.seized`). Returns messages queued.
    """
    told = 0
    notice = Notice(Audience.ALERTED, "alert.phone_lowered", f"lowered{now:%Y%m%d%H%M%S%f}")
    for checkin_id in checkin_ids:
        row = await checkin_store.checkin_for_update(session, checkin_id)
        if row is not None:
            told += await messages.tell(session, row, notice, now, command=command)
    return told


# -- send outcomes -----------------------------------------------------------------


async def delivered(
    session: AsyncSession, checkin_ids: list[tuple[int, bool]], now: datetime
) -> int:
    """Prompts (`False`) and reminders (`True`) the platform accepted at `now`.

    The answer window and the grace count from the moment the defender can see
    the message, not from when it was queued. Returns check-ins moved.
    """
    reminder_of = dict(checkin_ids)
    rows = await checkin_store.checkins_for_update(session, list(reminder_of))
    plans = [
        (row.id, plan)
        for row in rows
        if (plan := core.on_delivered(case_of(row), now, reminder=reminder_of[row.id]))
    ]
    return await checkin_store.record_delivery(session, [(i, p.before, p.after) for i, p in plans])


async def sent(session: AsyncSession, alert_chats: list[tuple[int, str, str]]) -> None:
    """Alert messages the platform accepted: their recipients count as reached."""
    await checkin_store.mark_reached(session, alert_chats)


async def settle(session: AsyncSession, alert_ids: list[int], now: datetime) -> int:
    """Tell a defender how many people their SOS reached, once every send has an outcome.

    Counts only people the platform accepted the alert for (never those merely
    queued); a duress alert is never reported, but leaves the same row, recorded as
    sent and never sent (`outbox.record_as_sent`), so that a copy of the database
    cannot tell the two apart by the defender's chat. Returns messages queued.
    """
    sos = await checkin_store.settled_emergencies(session, alert_ids, Kind.SOS.value)
    silent = await checkin_store.settled_emergencies(session, alert_ids, Kind.DURESS.value)
    people = {r.user_id for r in (*sos, *silent)}
    addresses = await user_store.addresses_of(session, people)
    langs = await user_store.langs_of(session, people)

    def reports(rows: Sequence[Any], prefix: str) -> list[tuple[Outgoing, int, str]]:
        items = []
        for r in rows:
            key = core.reach_report(Kind.SOS, r.reached, r.total)
            if key is None or r.user_id not in addresses:
                continue
            text = t(key, langs.get(r.user_id, "en"), reached=r.reached, total=r.total)
            # A reply, like any other to the defender: an alert-kind row to the defender's
            # own chat would mark an SOS apart from a duress alert at rest.
            out = Outgoing(addresses[r.user_id], text, kind=MessageKind.REPLY)
            items.append((out, r.user_id, f"{prefix}{r.id}"))
        return items

    await outbox.record_as_sent(session, reports(silent, privacy_store.STAND_IN), now=now)
    return await outbox.enqueue_many(session, reports(sos, "sosreach:"), now=now)


async def unreachable(
    session: AsyncSession,
    settings: Settings,
    alert_id: int,
    platform: str,
    chat_id: str,
    now: datetime,
) -> None:
    """An alert's send failed for good: that recipient counts as not alerted."""
    checkin_id = await checkin_store.set_recipient_status(
        session, alert_id, platform, chat_id, checkin_store.UNREACHABLE
    )
    row = await checkin_store.checkin_for_update(session, checkin_id) if checkin_id else None
    if row is None:
        return
    live = (checkin_store.QUEUED, checkin_store.REACHED)
    everyone = await checkin_store.recipient_levels(session, row.id)
    level1_left = any(r.level == 1 and r.status in live for r in everyone)
    anyone_left = any(r.status in live for r in everyone)
    who = hashlib.sha256(f"{platform}:{chat_id}".encode()).hexdigest()[:10]
    person = next(
        (r.user_id for r in everyone if (r.platform, r.chat_id) == (platform, chat_id)), None
    )
    plan = core.on_unreachable(
        case_of(row), now, await reach(session, row.user_id), policy_of(settings),
        who=who, level1_left=level1_left, anyone_left=anyone_left, person=person,
    )  # fmt: skip
    if plan is not None:
        await carry_out(session, row, plan, now, settings)
