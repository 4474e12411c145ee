"""The duress word and the safe PIN: how an answer typed on the phone is checked.

The duress word and the safe PIN guard every check-in answer (`checkins.on_answer`):
- an answer carrying the duress word anywhere (`ok WORD`, `ok 4 WORD`, the word
  alone) silently raises a duress alert to levels 1 and 2, and is answered
  exactly as the same message without the word (`checkins.on_answer`, read by
  `bot.core.answers`): whoever holds the phone sees nothing different, then or later;
- once a PIN is set, an OK without it (or with a wrong one) is not a check-in: the
  clock keeps running. Every command that lowers protection needs it too
  (`guard`, over `commands.LOWERS_PROTECTION`), so a phone taken from the
  defender cannot switch the protection off;
- guessing is throttled: after 5 wrong PINs in 10 minutes no PIN is accepted for
  the rest of that window, so 4 digits cannot be tried one after another. The
  clock keeps running meanwhile: a defender locked out by mistyping is alerted
  for, never silently dropped.

Both secrets are stored only as salted scrypt hashes (`crypto.hash_secret`), and
no reply ever repeats them. `checkins` (answers) and the router's PIN gate both
build on this module, which imports neither.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.commands import Command, pin_shaped, split_pin
from bot.core.errors import UserError
from bot.handlers.context import Ctx
from bot.store import contacts as contact_store
from bot.store import crypto

WORD_MIN, WORD_MAX = 4, 40
#: A command waits this long (and one message) for the PIN asked for.
PENDING_TTL = timedelta(minutes=5)
#: Lowering commands whose words are themselves secret: never kept waiting.
CARRIES_SECRET = frozenset({"pin", "duress"})
PIN_WINDOW = timedelta(minutes=10)
PIN_TRIES = 5


def pin_digits(word: str) -> str | None:
    """A typed PIN as ASCII digits (any script's digits), or None if not 4-8 digits."""
    return pin_shaped(word)


async def is_duress_word(ctx: Ctx, word: str) -> bool:
    """True if `word` is this person's duress word (one slow hash; a PIN or score never is)."""
    if not ctx.user.duress_hash or not WORD_MIN <= len(word) <= WORD_MAX:
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

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key, **params)

        async def count(ctx: Ctx) -> None:
            await contact_store.record_bad_attempt(ctx.session, ctx.user.id, ctx.now, kind="pin")

        self.after_rollback = count


async def require_pin(
    ctx: Ctx, word: str, key: str, *, throttled: str = "pin.throttled", **params: object
) -> None:
    """Accept only this person's PIN, with guessing throttled.

    Raises:
        UserError: `throttled` (`pin.throttled`) after too many wrong PINs; `key` for a wrong or
            missing PIN (a wrong PIN-shaped word is counted).
    """
    since = ctx.now - PIN_WINDOW
    if await contact_store.bad_attempts(ctx.session, ctx.user.id, since, kind="pin") >= PIN_TRIES:
        raise UserError(throttled)
    if await has_pin(ctx, word):
        return
    raise WrongPin(key, **params) if pin_digits(word) is not None else UserError(key, **params)


async def guard(ctx: Ctx, cmd: Command) -> Command:
    """The PIN gate for a command that lowers protection (`commands.lowers_protection`).

    With no PIN set the command passes as it is. With one, it passes only with the
    right PIN as its last word (removed before the handler sees it), and only in a
    private chat, where typing the PIN shows it to nobody.

    Raises:
        UserError: `pin.private` in a group chat; `pin.guard` without the PIN;
            `pin.throttled` after too many wrong PINs; `pin.guard`, counted, for a
            wrong one.
    """
    if not ctx.user.pin_hash:
        return cmd
    if not ctx.incoming.is_private:
        raise UserError("pin.private", command=cmd.name)
    bare, pin = split_pin(cmd)
    if pin is None and cmd.name not in CARRIES_SECRET:
        # Asked for as the next message (a pressed button cannot add it); kept sealed.
        raise KeepPending(f"/{cmd.name} {cmd.args}".strip(), command=cmd.name)
    await require_pin(ctx, pin or "", "pin.guard", command=cmd.name)
    return bare


class KeepPending(UserError):
    """Refused with `key`: `pending` waits for the PIN (kept after the rollback)."""

    def __init__(self, pending: str, key: str = "pin.send_now", **params: object) -> None:
        super().__init__(key, **params)

        async def keep(ctx: Ctx) -> None:
            ctx.user.pin_pending = pending
            ctx.user.pin_pending_at = ctx.now

        self.after_rollback = keep


def take_pending(ctx: Ctx, text: str) -> str | None:
    """The command waiting for the PIN, if `text` (the very next message) is a PIN.

    Whatever the message, the waiting command is forgotten: it waits one message,
    for `PENDING_TTL` at most. Returns the command with the PIN as its last word,
    which then passes the gate like any other (checked and throttled there).
    """
    waiting, since = ctx.user.pin_pending, ctx.user.pin_pending_at
    if waiting is None and since is None:
        return None
    ctx.user.pin_pending = None
    ctx.user.pin_pending_at = None
    typed = text.strip()
    if waiting is None or since is None or ctx.now - since > PENDING_TTL:
        return None
    if pin_shaped(typed) is None:
        return None
    return f"{waiting} {typed}"
