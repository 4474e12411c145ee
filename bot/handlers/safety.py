"""/sos, /status, /pause, /resume, /duress, /pin: the defender's own safety controls.

The duress word and the safe PIN guard every check-in answer (`check_answer`):
- an answer carrying the duress word (`ok WORD`, or the word typed alone) is
  answered exactly as a normal OK, and silently raises a duress alert to levels 1
  and 2. Whoever holds the phone sees nothing different, then or later;
- once a PIN is set, an OK without it (or with a wrong one) is not a check-in: the
  clock keeps running. Changing or removing the PIN, and pausing, need it too, so
  a phone taken from the defender cannot switch the protection off;
- guessing is throttled: after 5 wrong PINs in 10 minutes no PIN is accepted for
  the rest of that window, so 4 digits cannot be tried one after another. The
  clock keeps running meanwhile: a defender locked out by mistyping is alerted
  for, never silently dropped.

Both secrets are stored only as salted scrypt hashes (`crypto.hash_secret`), and
no reply ever repeats them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from sqlalchemy import select

from bot import alerts
from bot.core.commands import ALIASES, COMMANDS, Command
from bot.core.durations import check_bounds, format_duration, parse_duration
from bot.core.errors import UserError
from bot.core.lifecycle import Effect, Kind, State, emergency_levels
from bot.core.model import Outgoing
from bot.core.text import clean_note
from bot.handlers import checkins
from bot.handlers.checkins import local_time
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import crypto, outbox
from bot.store import groups as group_store
from bot.store import privacy as privacy_store
from bot.store.models import Checkin, Schedule

PAUSE_MIN = timedelta(minutes=5)
PAUSE_MAX = timedelta(days=30)
#: Any Unicode decimal digits (people type Arabic-Indic digits too), normalised below.
_PIN = re.compile(r"\d{4,8}")
_WORD_MIN, _WORD_MAX = 4, 40
PIN_WINDOW = timedelta(minutes=10)
PIN_TRIES = 5


async def raise_emergency(ctx: Ctx, kind: Kind, message: str | None) -> int:
    """Create an SOS or duress check-in and alert levels 1 and 2 at once.

    Returns how many people and chats were told.
    """
    reach = await alerts.reach(ctx.session, ctx.user.id)
    level, effects = emergency_levels(reach)
    checkin_id = await checkin_store.create_checkin(
        ctx.session, user_id=ctx.user.id, kind=kind.value, due_at=ctx.now, deadline_at=ctx.now,
        state=State.MISSED.value, level=level, next_action_at=None, message=message,
        grace_s=0, level2_after_s=0, duress=kind == Kind.DURESS, created_at=ctx.now,
    )  # fmt: skip
    checkin = await ctx.session.get_one(Checkin, checkin_id)
    levels = {Effect.ALERT_LEVEL1: 1, Effect.ALERT_LEVEL2: 2}
    raised = [(checkin, levels[e]) for e in effects if e in levels]
    return await alerts.raise_levels(ctx.session, raised, ctx.now)


async def sos(ctx: Ctx, cmd: Command) -> None:
    """Alert everyone now, paused or not."""
    told = await raise_emergency(ctx, Kind.SOS, clean_note(cmd.args) or None)
    if told:
        await ctx.reply("sos.sent", count=told)
    else:
        await ctx.reply("sos.nobody")


# -- answering: the duress word and the PIN ---------------------------------------


def pin_digits(word: str) -> str | None:
    """A typed PIN as ASCII digits, or None if the word is not 4-8 digits."""
    if not _PIN.fullmatch(word):
        return None
    return "".join(str(unicodedata.decimal(ch)) for ch in word)


async def is_duress_word(ctx: Ctx, word: str) -> bool:
    """True if `word` is this person's duress word (one slow hash; a PIN or score never is)."""
    if not ctx.user.duress_hash or not _WORD_MIN <= len(word) <= _WORD_MAX:
        return False
    if any(ch.isdigit() for ch in word):
        return False
    return await crypto.verify_secret_async(word, ctx.user.duress_hash)


async def has_pin(ctx: Ctx, word: str) -> bool:
    """True if `word` is this person's PIN (no throttling: see `require_pin`)."""
    digits = pin_digits(word)
    return digits is not None and await crypto.verify_secret_async(digits, ctx.user.pin_hash)


class WrongPin(UserError):
    """A wrong PIN: refused with `key`, and counted after the refusal rolls back."""

    def __init__(self, key: str) -> None:
        super().__init__(key)

        async def count(ctx: Ctx) -> None:
            await contact_store.record_bad_attempt(ctx.session, ctx.user.id, ctx.now, kind="pin")

        self.after_rollback = count


async def require_pin(ctx: Ctx, word: str, key: str) -> None:
    """Accept only this person's PIN, with guessing throttled.

    Raises:
        UserError: `pin.throttled` after too many wrong PINs; `key` for a wrong or
            missing PIN (a wrong PIN-shaped word is counted).
    """
    since = ctx.now - PIN_WINDOW
    if await contact_store.bad_attempts(ctx.session, ctx.user.id, since, kind="pin") >= PIN_TRIES:
        raise UserError("pin.throttled")
    if await has_pin(ctx, word):
        return
    raise WrongPin(key) if pin_digits(word) is not None else UserError(key)


def _split(args: str) -> tuple[str, str]:
    words = args.split()
    first = words[0] if words else ""
    return first, args.strip()[len(first) :]


async def check_answer(ctx: Ctx, args: str) -> tuple[str, bool, bool]:
    """Look at the start of an OK for the duress word and the PIN.

    `ok WORD`, and `ok PIN WORD` (the PIN out of habit), are duress answers.
    Returns the rest of the answer (score and note, secrets removed), whether it
    was given under duress, and whether it may count as a check-in (no PIN set,
    the right PIN, or the duress word, which must always look like it worked).
    """
    first, rest = _split(args)
    if await is_duress_word(ctx, first):
        return rest, True, True
    if not ctx.user.pin_hash:
        return args, False, True
    if pin_digits(first) is None:
        return args, False, False  # no PIN given: a score may still follow an answer
    await require_pin(ctx, first, "pin.needed")
    second, after = _split(rest)
    if await is_duress_word(ctx, second):
        return after, True, True
    return rest, False, True


async def on_plain_text(ctx: Ctx, text: str) -> bool:
    """The Router's hook for plain text: the duress word typed alone is an answer.

    Returns True when it handled the text (the reply is exactly a normal OK's).
    """
    word = text.strip()
    if len(word.split()) != 1 or not await is_duress_word(ctx, word):
        return False
    await checkins.respond_ok(ctx, "", duress=True, counts=True)
    return True


# -- /pause, /resume ---------------------------------------------------------------


async def pause(ctx: Ctx, cmd: Command) -> None:
    """Pause check-ins for a while (SOS still works); open prompts and timers are cancelled."""
    words = cmd.words
    if not words:
        raise UserError("pause.usage")
    duration = check_bounds(parse_duration(words[0]), minimum=PAUSE_MIN, maximum=PAUSE_MAX)
    rest = cmd.args.strip()[len(words[0]) :]
    if ctx.user.pin_hash:
        pin = rest.split()[0] if rest.split() else ""
        await require_pin(ctx, pin, "pause.pin_needed")
        rest = rest.strip()[len(pin) :]
    until = ctx.now + duration
    ctx.user.paused_until = until
    ctx.user.pause_ends_at = until
    ctx.user.pause_reason = clean_note(rest) or None
    # Escalations already under way (contacts alerted) stand; only what waits is cancelled.
    await checkin_store.cancel_open(
        ctx.session, ctx.user.id, kinds=[Kind.SCHEDULED.value, Kind.TIMER.value],
        states=[State.PENDING.value, State.LATE.value],
    )  # fmt: skip
    await ctx.reply(
        "pause.set", duration=format_duration(duration), until=local_time(until, ctx.zone)
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
    word = words[0] if len(words) == 1 else ""
    folded = word.casefold()
    if not word:
        await _reply_hidden(ctx, "duress.usage")
    elif folded == "off":
        ctx.user.duress_hash = None
        await _reply_hidden(ctx, "duress.removed")
    elif (
        not _WORD_MIN <= len(word) <= _WORD_MAX
        or any(ch.isdigit() for ch in word)
        or folded in COMMANDS
        or folded in ALIASES
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
    """Set, change (`/pin NEW CURRENT`) or remove (`/pin off CURRENT`) the safe PIN."""
    words = cmd.words
    if not words or len(words) > 2:
        raise UserError("pin.usage")
    wanted, current = words[0], (words[1] if len(words) == 2 else "")
    removing = wanted.casefold() == "off"
    digits = None if removing else pin_digits(wanted)
    if not removing and digits is None:
        raise UserError("pin.bad")
    if ctx.user.pin_hash:
        await require_pin(ctx, current, "pin.current_needed")
    elif removing:
        raise UserError("pin.none")
    elif current:
        raise UserError("pin.usage")
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
        lines.append(ctx.t("status.paused", at=local_time(ctx.user.paused_until, ctx.zone)))
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
    "pause": Route(pause),
    "resume": Route(resume),
    "duress": Route(duress),
    "pin": Route(pin),
}
