"""/checkin, /checkins, /checkin_remove, /timer, /ok: setting check-ins and answering them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot import engine
from bot.core.commands import Command
from bot.core.durations import check_bounds, format_duration, parse_duration
from bot.core.errors import UserError
from bot.core.escalation import who_is_told
from bot.core.lifecycle import Kind, State
from bot.core.schedules import dst_notices, format_schedule, next_due, parse_schedule
from bot.core.text import clean_note, is_ascii_number
from bot.core.times import format_hhmm
from bot.handlers import (
    secrets,
    wellbeing,  # the well-being questions after an OK
)
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.i18n import dates
from bot.store import checkins as checkin_store

MAX_SCHEDULES = 20


def local_time(when: datetime, zone: ZoneInfo, lang: str = "en") -> str:
    """How a due time is shown to the defender: weekday, date and HH:MM in their zone."""
    return dates.local_time(when, zone, lang)


async def warn_if_alone(ctx: Ctx) -> None:
    """Tell the defender when nobody would be alerted (SPEC: at set-up and in /status)."""
    reach = await engine.reach(ctx.session, ctx.user.id)
    if not (reach.level1 or reach.level2):
        await ctx.reply("checkin.nobody_warning")


async def checkin(ctx: Ctx, cmd: Command) -> None:
    """Add a recurring check-in."""
    spec = parse_schedule(cmd.args)
    existing = await checkin_store.schedules_of(ctx.session, ctx.user.id)
    if len(existing) >= MAX_SCHEDULES:
        raise UserError("checkin.too_many", max=MAX_SCHEDULES)
    first = next_due(spec, ctx.zone, ctx.now, ctx.now)
    schedule = await checkin_store.add_schedule(
        ctx.session, user_id=ctx.user.id, spec=format_schedule(spec), next_due_at=first, now=ctx.now
    )
    when = local_time(first, ctx.zone, ctx.lang)
    await ctx.reply("checkin.added", id=schedule.id, spec=schedule.spec, next=when)
    for notice in dst_notices(spec, ctx.zone, ctx.now)[:2]:
        key = "checkin.dst_shifted" if notice.kind == "shifted" else "checkin.dst_once"
        day = dates.long_date(notice.day, ctx.lang)
        await ctx.reply(key, day=day, time=format_hhmm(notice.local_time))
    await warn_if_alone(ctx)


async def checkins(ctx: Ctx, cmd: Command) -> None:
    """List the defender's schedules and open timers."""
    schedules = await checkin_store.schedules_of(ctx.session, ctx.user.id)
    if not schedules:
        await ctx.reply("checkin.none")
        return
    lines = [ctx.t("checkin.list_header")]
    for s in schedules:
        key = "checkin.list_group_item" if s.group_id else "checkin.list_item"
        when = local_time(s.next_due_at, ctx.zone, ctx.lang)
        lines.append(ctx.t(key, id=s.id, spec=s.spec, next=when))
    await ctx.reply_text("\n".join(lines))


async def checkin_remove(ctx: Ctx, cmd: Command) -> None:
    """Remove one of the defender's own schedules."""
    words = cmd.words
    if len(words) != 1 or not is_ascii_number(words[0].lstrip("#")):
        raise UserError("checkin.remove_usage")
    schedule_id = int(words[0].lstrip("#"))
    if not await checkin_store.remove_schedule(ctx.session, ctx.user.id, schedule_id):
        group_id = await checkin_store.group_of_schedule(ctx.session, ctx.user.id, schedule_id)
        if group_id is not None:  # listed by /checkins, but the group's to change
            raise UserError("checkin.from_group", id=schedule_id, group=group_id)
        raise UserError("checkin.no_such", id=schedule_id)
    await ctx.reply("checkin.removed", id=schedule_id)


async def timer(ctx: Ctx, cmd: Command) -> None:
    """Start (or cancel) a one-off safe-arrival timer; a new timer replaces an open one."""
    words = cmd.words
    if not words:
        raise UserError("timer.usage")
    if words[0].casefold() == "cancel":
        cancelled = await checkin_store.cancel_open(
            ctx.session,
            ctx.user.id,
            kinds=[Kind.TIMER.value],
            states=[State.PENDING.value, State.LATE.value],
        )
        await ctx.reply("timer.cancelled" if cancelled else "timer.none")
        return
    c = ctx.rt.settings.checkins
    asked = parse_duration(words[0], allow_zero=True)  # `0s` is too short, not gibberish
    duration = check_bounds(asked, minimum=c.min_timer, maximum=c.max_timer)
    note = clean_note(cmd.args[len(words[0]) :]) or None
    replaced = await checkin_store.cancel_open(
        ctx.session,
        ctx.user.id,
        kinds=[Kind.TIMER.value],
        states=[State.PENDING.value, State.LATE.value],
    )
    due = ctx.now + duration
    await checkin_store.create_checkin(
        ctx.session, user_id=ctx.user.id, kind=Kind.TIMER.value, due_at=due, deadline_at=due,
        state=State.PENDING.value, level=0, next_action_at=due, message=note,
        grace_s=int(c.grace.total_seconds()), level2_after_s=int(c.level2_after.total_seconds()),
        created_at=ctx.now,
    )  # fmt: skip
    reach = await engine.reach(ctx.session, ctx.user.id)
    await ctx.reply(
        "timer.replaced" if replaced else "timer.set", at=local_time(due, ctx.zone, ctx.lang),
        duration=format_duration(duration), grace=format_duration(c.grace),
        who=ctx.t(who_is_told(reach)),
    )  # fmt: skip
    await warn_if_alone(ctx)


def parse_ok(args: str) -> tuple[int | None, str | None]:
    """`[1-5] [note]` → (score, note)."""
    words = args.split()
    score = None
    if words and is_ascii_number(words[0]) and len(words[0]) == 1:
        value = int(words[0])
        if not 1 <= value <= 5:
            raise UserError("ok.bad_score")
        score, args = value, args.strip()[1:]
    note = clean_note(args) or None
    return score, note


async def ok(ctx: Ctx, cmd: Command) -> None:
    """Check in as safe, with an optional well-being score and note.

    With a safe PIN set the answer must start with it (`ok 4821 4 tired`); the
    duress word in its place (`ok WORD`) is answered exactly the same way.
    """
    args, duress, counts = await secrets.check_answer(ctx, cmd.args)
    await respond_ok(ctx, args, duress=duress, counts=counts)


async def on_plain_text(ctx: Ctx, text: str) -> bool:
    """The Router's hook for plain text: the duress word typed alone is an answer.

    Returns True when it handled the text (the reply is exactly a normal OK's).
    """
    word = text.strip()
    if len(word.split()) != 1 or not await secrets.is_duress_word(ctx, word):
        return False
    await respond_ok(ctx, "", duress=True, counts=True)
    return True


async def respond_ok(ctx: Ctx, args: str, *, duress: bool, counts: bool) -> None:
    """Answer an OK (`args` is the score and note); under duress, also alert silently.

    What the answer does to each open check-in (closed, all-clear, or an SOS kept
    open) is the engine's decision; the reply is the same in every case, so the
    phone shows nothing of it.

    Raises:
        UserError: `pin.needed` when the answer lacks the PIN (nothing is recorded).
    """
    score, note = parse_ok(args)
    if score is None or note is not None or not await wellbeing.tap_score(ctx, score):
        if not counts:
            raise UserError("pin.needed")
        closed = await engine.answer(
            ctx.session, ctx.rt.settings, ctx.user.id, ctx.now,
            score=None, note=note, duress=duress,  # the score is kept sealed: wellbeing.after_ok
        )  # fmt: skip
        ctx.user.last_ok_at = ctx.now
        if not closed:
            await checkin_store.create_checkin(
                ctx.session, user_id=ctx.user.id, kind=Kind.MANUAL.value, due_at=ctx.now,
                deadline_at=ctx.now, state=State.OK.value, level=0, next_action_at=None,
                grace_s=0, level2_after_s=0, answered_at=ctx.now, note=note,
                created_at=ctx.now,
            )  # fmt: skip
        await wellbeing.after_ok(ctx, score, duress=duress)
    if duress:
        await engine.emergency(
            ctx.session, ctx.rt.settings, ctx.user.id, Kind.DURESS, None, ctx.now
        )


#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "checkin": Route(checkin),
    "checkins": Route(checkins),
    "checkin_remove": Route(checkin_remove),
    "timer": Route(timer),
    "ok": Route(ok),
}
