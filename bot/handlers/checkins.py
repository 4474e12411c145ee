"""/checkin, /checkins, /checkin_remove, /timer, and answers: setting check-ins, answering them.

Every answer (`ok …`, `SOS!!`, `👍`, `I am ok`, the duress word, a pressed button)
is read by the one grammar in `bot.core.answers`, through `on_answer`.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from bot import engine
from bot.core import answers
from bot.core.commands import Command
from bot.core.durations import check_bounds, parse_duration
from bot.core.errors import UserError
from bot.core.escalation import who_is_told
from bot.core.lifecycle import Kind, State
from bot.core.model import Choice
from bot.core.schedules import dst_notices, format_schedule, next_due, parse_schedule
from bot.core.text import clean_note, is_ascii_number
from bot.core.times import format_hhmm
from bot.handlers import (
    secrets,
    wellbeing,  # the well-being questions after an OK
)
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.i18n import dates, languages, t
from bot.store import checkins as checkin_store

MAX_SCHEDULES = 20
#: At most this many words of one answer are checked against the duress word (each
#: check is a slow hash, ~50 ms): the first ones that could be it, where the word is
#: in any real answer. A duress word after them (a long note) is not found.
MAX_DURESS_CHECKS = 6
#: Open check-ins the defender can see (in /status); a duress alert is never one.
VISIBLE_OPEN = frozenset({Kind.SCHEDULED, Kind.TIMER, Kind.SOS})


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


async def replaces_a_timer(ctx: Ctx, cmd: Command) -> bool:
    """A new `/timer` while one runs moves its deadline: it needs the PIN, as cancelling does."""
    if not cmd.words or cmd.words[0].casefold() == "cancel":
        return False
    running = (State.PENDING.value, State.LATE.value)  # what a new timer replaces
    return any(
        c.kind == Kind.TIMER.value and c.state in running
        for c in await checkin_store.open_checkins(ctx.session, ctx.user.id)
    )


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
        duration=dates.duration(duration, ctx.lang), grace=dates.duration(c.grace, ctx.lang),
        who=ctx.t(who_is_told(reach)),
    )  # fmt: skip
    await warn_if_alone(ctx)


@cache
def vocab() -> answers.Vocab:
    """The answer words of every catalog language (English typed in a Thai chat counts)."""
    langs = sorted({"en", *languages()})

    def every(key: str) -> list[str]:
        return [t(key, lang) for lang in langs]

    return answers.vocab(
        every("answer.ok_words"), every("answer.sos_words"), every("answer.help_words")
    )


def is_sos(text: str) -> bool:
    """True if `text` raises an SOS (a long SOS is let through the length limit)."""
    return answers.is_sos(text, vocab())


async def duress_in(ctx: Ctx, text: str) -> set[str]:
    """The words of `text` that are this person's duress word (one slow hash each).

    Every candidate is checked, even after a match, so how long an answer takes
    depends on how many words it has, never on whether one was the duress word.
    """
    if not ctx.user.duress_hash:
        return set()
    found = set()
    for key in answers.duress_candidates(text)[:MAX_DURESS_CHECKS]:
        if await secrets.is_duress_word(ctx, key):
            found.add(key)
    return found


async def on_answer(ctx: Ctx, text: str) -> str | None:
    """The Router's hook for what may be an answer: read it with the one grammar.

    Returns None when `text` was an answer and was handled, else the text the router
    goes on with: `text` itself, or `/help` for "help" alone. The duress word
    anywhere raises the silent alert, after every reply is queued; the reply is
    the one the same message without the word gets (a PIN refusal stays one).

    Raises:
        UserError: `ok.bad_score` / `answer.not_counted` for what looks like an
            answer but does not count; `pin.needed` / `pin.throttled_answer` for an OK
            without the PIN, or with a wrong one (counted).
    """
    read = answers.read(text, vocab(), (await duress_in(ctx, text)).__contains__)
    if read.duress:
        ctx.after_reply(_duress_alert)  # even if the answer is refused and rolled back
    match read.kind:
        case answers.Kind.NONE:
            return text
        case answers.Kind.SOS:
            await _sos(ctx, read.note)
        case answers.Kind.HELP:
            if not await _help(ctx):
                return "/help"
        case answers.Kind.NOT_COUNTED:
            raise UserError(read.refusal or "answer.not_counted")
        case answers.Kind.OK:
            counts = not ctx.user.pin_hash
            if ctx.user.pin_hash and read.pin is not None:
                await secrets.require_pin(ctx, read.pin, "pin.needed",
                                          throttled="pin.throttled_answer")  # fmt: skip
                counts = True
            await respond_ok(ctx, read.score, clean_note(read.note) or None, duress=read.duress,
                             counts=counts)  # fmt: skip
    return None


async def _help(ctx: Ctx) -> bool:
    """`help` alone: while a check-in waits, "do you need help?" (True); else False.

    The question has an SOS button and alerts nobody by itself (`bot.core.answers`);
    with nothing waiting, "help" is the command list, as /help.
    """
    waiting = await checkin_store.open_checkins(ctx.session, ctx.user.id)
    if not any(c.kind in VISIBLE_OPEN for c in waiting):  # a duress alert never counts
        return False
    button = Choice(ctx.t("answer.help_button"), "/sos")
    await ctx.reply("answer.help_question", choices=((button,),))
    return True


async def _sos(ctx: Ctx, message: str) -> None:
    """Alert everyone now, paused or not."""
    outcome = await engine.emergency(
        ctx.session, ctx.rt.settings, ctx.user.id, Kind.SOS, clean_note(message) or None, ctx.now
    )
    await ctx.reply(outcome.reply or "sos.sent", **outcome.params)


async def _duress_alert(ctx: Ctx) -> None:
    await engine.emergency(ctx.session, ctx.rt.settings, ctx.user.id, Kind.DURESS, None, ctx.now)


async def ok(ctx: Ctx, cmd: Command) -> None:
    """`/ok …` where the answer hook does not run (it reads every private answer)."""
    if await on_answer(ctx, f"ok {cmd.args}") is not None:
        raise UserError("answer.not_counted")


async def respond_ok(
    ctx: Ctx, score: int | None, note: str | None, *, duress: bool, counts: bool
) -> None:
    """Answer an OK with its score and note, when it counts.

    What the answer does to each open check-in (closed, all-clear, or an SOS kept
    open) is the engine's decision; the reply is the same in every case, so the
    phone shows nothing of it. A score alone right after an answer (the 1-5 row)
    completes that answer and needs no PIN.

    Raises:
        UserError: `pin.needed` when the answer lacks the PIN (nothing is recorded).
    """
    if score is not None and note is None and await wellbeing.tap_score(ctx, score):
        return
    if not counts:
        if score is not None:  # a score button: it waits for the PIN too (never a note)
            raise secrets.KeepPending(f"/ok {score}", key="pin.needed")
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


#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "checkin": Route(checkin),
    "checkins": Route(checkins),
    "checkin_remove": Route(checkin_remove),
    "timer": Route(timer, lowers_now=replaces_a_timer),
    "ok": Route(ok),
}
