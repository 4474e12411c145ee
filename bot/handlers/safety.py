"""/sos, /status, /pause, /resume, /duress, /pin: the defender's own safety controls.

How the duress word and the PIN guard an answer is in `bot.handlers.secrets`; the
alert an SOS raises is decided by the check-in engine (`bot.engine`).
"""

from __future__ import annotations

from datetime import timedelta

from bot import engine
from bot.core import answers
from bot.core.commands import ALIASES, COMMANDS, Command
from bot.core.durations import check_bounds, parse_duration
from bot.core.errors import UserError
from bot.core.escalation import who_is_told
from bot.core.lifecycle import PAUSE_CANCELS, PAUSE_CANCELS_STATES, Kind
from bot.core.model import Outgoing
from bot.core.text import clean_note
from bot.handlers import checkins
from bot.handlers.checkins import local_time
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.handlers.secrets import WORD_MAX, WORD_MIN, pin_digits
from bot.i18n import dates
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import crypto, outbox
from bot.store import groups as group_store
from bot.store import privacy as privacy_store
from bot.store import reach as reach_store

PAUSE_MIN = timedelta(minutes=5)
PAUSE_MAX = timedelta(days=30)


async def sos(ctx: Ctx, cmd: Command) -> None:
    """`/sos …` where the answer hook does not run: the same grammar reads it."""
    await checkins.on_answer(ctx, f"sos {cmd.args}")


# -- /pause, /resume ---------------------------------------------------------------


async def pause(ctx: Ctx, cmd: Command) -> None:
    """Pause check-ins for a while (SOS still works); open prompts and timers are cancelled."""
    words = cmd.words
    if not words:
        raise UserError("pause.usage")
    duration = check_bounds(parse_duration(words[0]), minimum=PAUSE_MIN, maximum=PAUSE_MAX)
    rest = cmd.args.strip()[len(words[0]) :]  # the PIN, if one is set, is gone (the gate)
    until = ctx.now + duration
    ctx.user.paused_until = until
    ctx.user.pause_ends_at = until
    ctx.user.pause_reason = clean_note(rest) or None
    # Escalations already under way (contacts alerted) stand; only what waits is cancelled.
    await checkin_store.cancel_open(
        ctx.session, ctx.user.id, kinds=[k.value for k in PAUSE_CANCELS],
        states=[s.value for s in PAUSE_CANCELS_STATES],
    )  # fmt: skip
    await ctx.reply(
        "pause.set",
        duration=dates.duration(duration, ctx.lang),
        until=local_time(until, ctx.zone, ctx.lang),
    )


async def resume(ctx: Ctx, cmd: Command) -> None:
    """End a pause now; the scheduler's "pause ended" notice is not sent."""
    if ctx.user.paused_until is None or ctx.user.paused_until <= ctx.now:
        await ctx.reply("pause.not_paused")
        return
    ctx.user.paused_until = None
    ctx.user.pause_ends_at = None
    ctx.user.pause_reason = None
    await ctx.reply("pause.resumed")


# -- /duress, /pin -----------------------------------------------------------------


async def duress(ctx: Ctx, cmd: Command) -> None:
    """Set or remove the duress word; whether one is set is never shown.

    Every reply here is kept out of `/mydata` (`privacy.hidden_key`), and refusals
    are answered the same way rather than raised, so they are hidden too.
    """
    words = cmd.words
    word = answers.word_key(words[0]) if len(words) == 1 else ""  # as answers compare it
    folded = word.casefold()
    if not word:
        await _reply_hidden(ctx, "duress.usage")
    elif folded == "off":
        ctx.user.duress_hash = None
        await _reply_hidden(ctx, "duress.removed")
    elif (
        not WORD_MIN <= len(word) <= WORD_MAX
        or any(ch.isdigit() for ch in word)
        or folded in COMMANDS
        or folded in ALIASES
        or folded in checkins.vocab().single_words  # "ok", "safe", "sos", "help"…
    ):
        await _reply_hidden(ctx, "duress.bad_word")
    else:
        ctx.user.duress_hash = await crypto.hash_secret_async(word)
        await _reply_hidden(ctx, "duress.set")


async def _reply_hidden(ctx: Ctx, key: str) -> None:
    out = Outgoing(ctx.incoming.chat, ctx.t(key), answer_ref=ctx.incoming.answer_ref)
    await outbox.enqueue(
        ctx.session, out, now=ctx.now, user_id=ctx.user.id, dedupe_key=privacy_store.hidden_key()
    )


async def pin(ctx: Ctx, cmd: Command) -> None:
    """Set, change (`/pin NEW CURRENT`) or remove (`/pin off CURRENT`) the safe PIN.

    The current PIN has been checked and taken off the end by the PIN gate.
    """
    words = cmd.words
    if len(words) != 1:
        raise UserError("pin.usage")
    wanted = words[0]
    removing = wanted.casefold() == "off"
    digits = None if removing else pin_digits(wanted)
    if not removing and digits is None:
        raise UserError("pin.bad")
    if removing and not ctx.user.pin_hash:
        raise UserError("pin.none")
    had_pin = ctx.user.pin_hash is not None
    if removing:
        ctx.user.pin_hash = None
        await ctx.reply("pin.removed")
        return
    assert digits is not None
    ctx.user.pin_hash = await crypto.hash_secret_async(digits)
    await ctx.reply("pin.changed" if had_pin else "pin.set")


# -- /status -----------------------------------------------------------------------


async def status(ctx: Ctx, cmd: Command) -> None:
    """Next check-in, open timers, pause, last check-in, and how many would be alerted.

    Only scheduled check-ins and timers are listed: a duress alert is never shown.
    """
    lines = [ctx.t("status.header")]
    schedules = await checkin_store.schedules_of(ctx.session, ctx.user.id)
    next_schedule = schedules[0] if schedules else None
    if next_schedule is not None:
        when = local_time(next_schedule.next_due_at, ctx.zone, ctx.lang)
        lines.append(ctx.t("status.next", at=when))
    else:
        lines.append(ctx.t("status.no_schedule"))
    who = ctx.t(who_is_told(await engine.reach(ctx.session, ctx.user.id)))
    for c in await checkin_store.open_checkins(ctx.session, ctx.user.id):
        kind = checkin_store.kind_of(c)  # a duress alert is stored as an SOS: read the variant
        if kind in (Kind.SCHEDULED, Kind.TIMER, Kind.SOS):  # a duress alert never shows
            key = f"status.open_{kind}_{c.state}"  # a timer that ran out no longer "runs"
            lines.append(ctx.t(key, at=local_time(c.deadline_at, ctx.zone, ctx.lang), who=who))
    if ctx.user.paused_until is not None and ctx.user.paused_until > ctx.now:
        lines.append(ctx.t("status.paused", at=local_time(ctx.user.paused_until, ctx.zone)))
    last = await checkin_store.last_answer(ctx.session, ctx.user.id)
    if last is not None and last.answered_at is not None:
        lines.append(ctx.t("status.last", at=local_time(last.answered_at, ctx.zone)))
    contacts = len(await contact_store.contact_ids(ctx.session, ctx.user.id))
    organisers, chats = await group_store.level2_targets(ctx.session, ctx.user.id)
    if contacts:  # before the summary line, which stays last
        counts = await reach_store.counts(ctx.session, ctx.user.id)
        lines.append(ctx.t("reach.counts", confirmed=counts.confirmed, stale=counts.stale))
    lines.append(ctx.t("status.reach", contacts=contacts, level2=len(organisers) + len(chats)))
    if not contacts and not (organisers or chats):
        lines.append(ctx.t("checkin.nobody_warning"))
    await ctx.reply_text("\n".join(lines))


#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "sos": Route(sos),
    "status": Route(status),
    "pause": Route(pause),
    "resume": Route(resume),
    "duress": Route(duress),
    "pin": Route(pin),
}
