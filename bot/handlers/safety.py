"""/sos and /status: raising every alert at once, and what would happen if I go silent."""

from __future__ import annotations

from sqlalchemy import select

from bot import alerts
from bot.core.commands import Command
from bot.core.lifecycle import Effect, Kind, State, emergency_levels
from bot.core.text import clean_note
from bot.handlers.checkins import local_time
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import groups as group_store
from bot.store.models import Checkin, Schedule


async def raise_emergency(ctx: Ctx, kind: Kind, message: str | None) -> int:
    """Create an SOS or duress check-in and alert levels 1 and 2 at once; returns how many were told."""
    reach = await alerts.reach(ctx.session, ctx.user.id)
    level, effects = emergency_levels(reach)
    checkin_id = await checkin_store.create_checkin(
        ctx.session, user_id=ctx.user.id, kind=kind.value, due_at=ctx.now, deadline_at=ctx.now,
        state=State.MISSED.value, level=level, next_action_at=None, message=message,
        grace_s=0, level2_after_s=0, duress=kind == Kind.DURESS, created_at=ctx.now,
    )  # fmt: skip
    checkin = await ctx.session.get_one(Checkin, checkin_id)
    told = 0
    for effect in effects:
        if effect == Effect.ALERT_LEVEL1:
            told += await alerts.raise_level(ctx.session, checkin, 1, ctx.now)
        elif effect == Effect.ALERT_LEVEL2:
            told += await alerts.raise_level(ctx.session, checkin, 2, ctx.now)
    return told


async def sos(ctx: Ctx, cmd: Command) -> None:
    """Alert everyone now, paused or not."""
    told = await raise_emergency(ctx, Kind.SOS, clean_note(cmd.args) or None)
    if told:
        await ctx.reply("sos.sent", count=told)
    else:
        await ctx.reply("sos.nobody")


async def status(ctx: Ctx, cmd: Command) -> None:
    """Next check-in, open timers, pause, last check-in, and how many would be alerted."""
    lines = [ctx.t("status.header")]
    next_schedule = (
        await ctx.session.execute(
            select(Schedule)
            .where(Schedule.user_id == ctx.user.id)
            .order_by(Schedule.next_due_at)
            .limit(1)
        )
    ).scalar_one_or_none()
    if next_schedule is not None:
        lines.append(ctx.t("status.next", at=local_time(next_schedule.next_due_at, ctx.zone)))
    else:
        lines.append(ctx.t("status.no_schedule"))
    for c in await checkin_store.open_checkins(ctx.session, ctx.user.id):
        if c.kind in (Kind.SCHEDULED, Kind.TIMER):
            key = "status.open_timer" if c.kind == Kind.TIMER else "status.open_checkin"
            lines.append(
                ctx.t(key, at=local_time(c.deadline_at, ctx.zone), state=ctx.t(f"state.{c.state}"))
            )
    if ctx.user.paused_until is not None and ctx.user.paused_until > ctx.now:
        lines.append(ctx.t("status.paused", until=local_time(ctx.user.paused_until, ctx.zone)))
    last = await checkin_store.last_answer(ctx.session, ctx.user.id)
    if last is not None and last.answered_at is not None:
        lines.append(ctx.t("status.last", at=local_time(last.answered_at, ctx.zone)))
    contacts = len(await contact_store.contact_ids(ctx.session, ctx.user.id))
    organisers, chats = await group_store.level2_targets(ctx.session, ctx.user.id)
    lines.append(ctx.t("status.reach", contacts=contacts, level2=len(organisers) + len(chats)))
    if not contacts and not (organisers or chats):
        lines.append(ctx.t("checkin.nobody_warning"))
    await ctx.reply_text("\n".join(lines))

#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "sos": Route(sos),
    "status": Route(status),
}
