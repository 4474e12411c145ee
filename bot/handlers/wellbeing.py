"""How are you, after an OK; `/feel`; `/wellbeing` (the picture, the weekly word, keeping).

After an OK the defender is asked, once each and always optional, for a score
(1-5, buttons on Telegram, numbers on Signal) and then how things are (`Feeling`).
Each answer belongs to the check-in it follows (`UNIQUE(checkin_id)`), so the same
check-in is never asked about twice; after an SOS nothing is asked at all.

Under duress the defender is asked exactly as after the same answer without the
duress word, and every tap gets the same reply; but nothing tapped then is kept:
the answer is stored as given without its value (it is not the defender's
well-being: whoever holds the phone may be choosing), so no picture, export, group
average, contact or buddy ever sees it, and sealed it looks like any answer. The
duress alert already went to the people who would act.

The rules (trend, nudge) live in `bot.core.wellbeing`; the picture is drawn by
`bot.wellbeing_chart`, which loads matplotlib only when it draws.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core import wellbeing as rules
from bot.core.commands import Command
from bot.core.errors import UserError
from bot.core.lifecycle import EMERGENCY_KINDS
from bot.core.model import Choice, MessageKind, Outgoing
from bot.core.text import clean_name
from bot.core.wellbeing import Entry, Feeling
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.i18n import dates, t
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import outbox
from bot.store import users as user_store
from bot.store import wellbeing as store
from bot.store.models import Checkin

log = logging.getLogger(__name__)

#: A tap this soon after an answer belongs to it.
TAP_WITHIN = timedelta(minutes=15)
#: Dedupe-key prefix of pictures: sent rows are deleted at once (the PNG is never kept).
CHART = "chart:"
DEFAULT_DAYS = 30
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def score_choices(ctx: Ctx) -> tuple[tuple[Choice, ...], ...]:
    """The optional 1-5 row (on Signal the numbers 1-5 are the scores themselves)."""
    return (tuple(Choice(ctx.t(f"ok.score{n}"), f"/ok {n}") for n in range(1, 6)),)


def feeling_choices(ctx: Ctx) -> tuple[tuple[Choice, ...], ...]:
    """Two rows of three: how things are."""
    every = [Choice(ctx.t(f"feel.{f.value}"), f"/feel {f.value}") for f in Feeling]
    return (tuple(every[:3]), tuple(every[3:]))


# -- right after an OK ---------------------------------------------------------------------


async def after_ok(ctx: Ctx, score: int | None, *, duress: bool) -> None:
    """Answer an OK: thanks, and the next optional question (the score, else the feeling).

    Called by the check-in handler once the answer is recorded. A score typed with
    the OK (`ok 4`) is kept (not under duress).
    """
    last = await checkin_store.last_answer(ctx.session, ctx.user.id)
    if last is None or await store.sos_around(ctx.session, ctx.user.id, ctx.now):
        await ctx.reply("feel.thanks_plain")
        return
    if score is None:
        await ctx.reply("ok.thanks", choices=score_choices(ctx))
        return
    await _keep(ctx, last, duress=duress, score=score)
    await ctx.reply("feel.thanks_question", choices=feeling_choices(ctx))
    await maybe_nudge(ctx)


async def tap_score(ctx: Ctx, score: int) -> bool:
    """A score right after an answer (the 1-5 row) completes that answer.

    Returns False when there is no such answer (the score is then a new OK).
    """
    last = await _tappable(ctx)
    if last is None:
        return False
    entry = await store.answer_for(ctx.session, last.id)
    if entry is not None and entry.score is not None:
        return False
    await _keep(ctx, last, score=score)
    if entry is not None and entry.feeling is not None:
        await ctx.reply("ok.score_noted")
    else:
        await ctx.reply("feel.question", choices=feeling_choices(ctx))
    await maybe_nudge(ctx)
    return True


async def feel(ctx: Ctx, cmd: Command) -> None:
    """`/feel WORD` (the buttons after the score): how things are, for the last answer."""
    words = cmd.words
    if len(words) == 1 and words[0].casefold() == "tell":
        await tell_contacts(ctx)
        return
    try:
        feeling = rules.parse_feeling(" ".join(words))
    except ValueError:
        raise UserError("feel.usage") from None
    last = await _tappable(ctx)
    if last is None:
        raise UserError("feel.not_now")
    entry = await store.answer_for(ctx.session, last.id)
    if entry is not None and entry.feeling is not None:
        raise UserError("feel.not_now")
    await _keep(ctx, last, feeling=feeling)
    await _offer(ctx, feeling)
    await maybe_nudge(ctx)


async def _offer(ctx: Ctx, feeling: Feeling) -> None:
    if feeling in rules.OFFER_CONTACTS:
        button = Choice(ctx.t("feel.tell_button"), "/feel tell")
        await ctx.reply("feel.offer_contacts", choices=((button,),))
    elif feeling in rules.OFFER_BUDDY:
        if await store.accepted_buddy(ctx.session, ctx.user.id) is None:
            await ctx.reply("feel.no_buddy")
        else:
            button = Choice(ctx.t("feel.buddy_button"), "/buddy ask")
            await ctx.reply("feel.offer_buddy", choices=((button,),))
    else:
        await ctx.reply("feel.noted")


async def tell_contacts(ctx: Ctx) -> None:
    """Tell my contacts: the last answer's fear or harassment, to each accepted contact once."""
    last = await _tappable(ctx)
    if last is None:
        raise UserError("feel.not_now")
    entry = await store.answer_for(ctx.session, last.id)
    feeling = entry.feeling if entry is not None else None
    coerced = await store.duress_since(ctx.session, ctx.user.id, _answered(last))
    offered = {f.value for f in rules.OFFER_CONTACTS}
    if coerced:  # the feeling was not kept: only its length (as any reply to a tap)
        offered = {store.NOT_KEPT_MARK * len(f) for f in offered}
    if feeling not in offered:
        raise UserError("feel.not_now")
    contacts = await contact_store.contact_ids(ctx.session, ctx.user.id)
    addresses = await user_store.addresses_of(ctx.session, contacts)
    if not addresses:
        await ctx.reply("feel.told_nobody")
        return
    # Under duress the alert went out already: the reply is the same, nothing is sent.
    if not coerced:
        name = clean_name((await user_store.names_of(ctx.session, [ctx.user.id]))[ctx.user.id])
        langs = await user_store.langs_of(ctx.session, list(addresses))
        for contact, address in addresses.items():
            text = t(f"feel.contacts_{feeling}", langs.get(contact, "en"), name=name)
            await outbox.enqueue(
                ctx.session, Outgoing(address, text, kind=MessageKind.INFO), now=ctx.now,
                user_id=contact, dedupe_key=f"feeltell:{last.id}:{contact}",
            )  # fmt: skip
    await ctx.reply("feel.told", count=len(addresses))


def _answered(last: Checkin) -> datetime:
    assert last.answered_at is not None
    return last.answered_at


async def _tappable(ctx: Ctx) -> Checkin | None:
    """The answer a tap belongs to: recent, not after an SOS, nothing else still open."""
    last = await checkin_store.last_answer(ctx.session, ctx.user.id)
    if last is None or ctx.now - _answered(last) > TAP_WITHIN:
        return None
    if await store.sos_around(ctx.session, ctx.user.id, _answered(last)):
        return None
    still_open = await checkin_store.open_checkins(ctx.session, ctx.user.id)
    if any(c.kind not in EMERGENCY_KINDS for c in still_open):  # an open alert must not show
        return None
    return last


async def _keep(
    ctx: Ctx,
    last: Checkin,
    *,
    duress: bool | None = None,
    score: int | None = None,
    feeling: Feeling | None = None,
) -> None:
    """Keep a score or feeling (sealed); the caller then sees whether a gentle word is due.

    Under duress the answer counts as given (so every reply is the same) but its value
    is not kept. `duress` None: a tap after the answer, under duress if a duress alert
    was raised since that answer.
    """
    if duress is None:
        duress = await store.duress_since(ctx.session, ctx.user.id, _answered(last))
    await store.record(
        ctx.session, user_id=ctx.user.id, checkin_id=last.id, at=_answered(last),
        score=score, feeling=feeling, keep=not duress,
    )  # fmt: skip


async def maybe_nudge(ctx: Ctx) -> None:
    """Three low scores in a row, or exhausted twice in a week: one private word, weekly at most."""
    prefs = await store.prefs(ctx.session, ctx.user.id)
    recent = await store.history(ctx.session, ctx.user.id, ctx.now - 4 * rules.WEEK)
    reason = rules.nudge_reason(recent, ctx.now, prefs.nudged_at)
    if reason is None:
        return
    prefs.nudged_at = ctx.now
    text = ctx.t(f"nudge.{reason.value}")
    for group, support in await store.supports_for(ctx.session, ctx.user.id):
        text += "\n" + ctx.t("nudge.group_support", group=clean_name(group), support=support)
    choices: tuple[tuple[Choice, ...], ...] = ()
    if await store.accepted_buddy(ctx.session, ctx.user.id) is not None:
        text += "\n" + ctx.t("nudge.buddy")
        choices = ((Choice(ctx.t("feel.buddy_button"), "/buddy ask"),),)
    await ctx.send(
        ctx.incoming.chat, text, kind=MessageKind.INFO, choices=choices, user_id=ctx.user.id
    )
    log.info("gentle word", extra={"action": "wellbeing.nudge"})


# -- /wellbeing ----------------------------------------------------------------------------


async def wellbeing(ctx: Ctx, cmd: Command) -> None:
    """`/wellbeing [Nd]`, `/wellbeing weekly on [day]|off`, `/wellbeing keep 1y|30d`."""
    words = [w.casefold() for w in cmd.words]
    if words and words[0] == "weekly":
        await _weekly(ctx, words[1:])
    elif words and words[0] == "keep":
        await _keep_for(ctx, words[1:])
    elif len(words) > 1:
        raise UserError("wellbeing.usage")
    else:
        count = _days(words[0]) if words else DEFAULT_DAYS
        await send_picture(ctx, count)


def _days(word: str) -> int:
    raw = word.removesuffix("d")
    if not raw.isdigit():
        raise UserError("wellbeing.usage")
    count = int(raw)
    if not 7 <= count <= rules.MAX_DAYS:
        raise UserError("wellbeing.bad_days")
    return count


async def send_picture(ctx: Ctx, count: int) -> None:
    """Draw the last `count` days and send them with the trend in one sentence."""
    # two weeks at least: the caption compares the last week with the one before
    since = store.since_days(ctx.now, max(count, 14))
    entries = await store.history(ctx.session, ctx.user.id, since)
    window = ctx.now - timedelta(days=count)
    if not any(e.at > window and (e.score or e.feeling) for e in entries):
        await ctx.reply("wellbeing.empty", days=count)
        return
    caption = picture_caption(ctx.lang, entries, ctx.now)
    from bot import wellbeing_chart  # loads matplotlib on first use only

    out = await wellbeing_chart.picture(
        ctx.incoming.chat, entries, now=ctx.now, zone=ctx.zone, count=count, caption=caption
    )
    out = out.evolve(answer_ref=ctx.incoming.answer_ref)
    await outbox.enqueue(ctx.session, out, now=ctx.now, user_id=ctx.user.id, dedupe_key=chart_key())


def picture_caption(lang: str, entries: list[Entry], now: datetime) -> str:
    """The trend sentence, then the key to the marks."""
    direction = rules.trend(entries, now)
    return t(f"wellbeing.caption_{direction.value}", lang) + "\n" + t("wellbeing.key", lang)


def chart_key() -> str:
    """A dedupe key marking an outbox row as a picture (deleted as soon as it was sent)."""
    import secrets

    return CHART + secrets.token_hex(8)


async def _weekly(ctx: Ctx, words: list[str]) -> None:
    if words[:1] == ["off"] and len(words) == 1:
        await store.set_weekly(ctx.session, ctx.user.id, None, None)
        await ctx.reply("wellbeing.weekly_off")
        return
    if words[:1] != ["on"] or len(words) > 2:
        raise UserError("wellbeing.weekly_usage")
    local = ctx.now.astimezone(ctx.zone)
    day = local.weekday()
    if len(words) == 2:
        if words[1][:3] not in WEEKDAYS:
            raise UserError("wellbeing.weekly_usage")
        day = WEEKDAYS.index(words[1][:3])
    due = rules.next_weekly(ctx.now, ctx.zone, day)
    await store.set_weekly(ctx.session, ctx.user.id, day, due)
    await ctx.reply("wellbeing.weekly_on", day=dates.weekday(day, ctx.lang))


async def _keep_for(ctx: Ctx, words: list[str]) -> None:
    default = _short(ctx.rt.settings.security.retention)
    prefs = await store.prefs(ctx.session, ctx.user.id)
    if words == ["1y"]:
        prefs.keep_long = True
        await ctx.reply("wellbeing.keep_long", default=default)
    elif words in (["off"], ["default"], [default]):
        prefs.keep_long = False
        await ctx.reply("wellbeing.keep_default", default=default)
    else:
        raise UserError("wellbeing.keep_usage", default=default)


def _short(value: timedelta) -> str:
    from bot.core.durations import format_duration

    return format_duration(value)


#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "wellbeing": Route(wellbeing),
    "feel": Route(feel),
}
