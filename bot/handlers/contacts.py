"""/invite, accepting or declining, /contacts, /contact_remove, /ack, /resolve.

A trusted contact exists only once the invited person accepted: a pending or
declined invite is never alerted. Invite codes carry 99 bits from `secrets`, read
aloud easily (`bot.core.codes`), expire, work once, and guessing is throttled
(after 5 wrong codes in 10 minutes, codes are refused for a while with the same
answer whether they exist or not).
"""

from __future__ import annotations

from datetime import timedelta

from bot import engine
from bot.core.commands import Command
from bot.core.errors import UserError
from bot.core.model import Choice, MessageKind
from bot.core.text import clean_name, clean_note, is_ascii_number
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.i18n import t
from bot.store import contacts as contact_store
from bot.store import reach as reach_store
from bot.store import users as user_store
from bot.store.models import Contact, Invite

THROTTLE_WINDOW = timedelta(minutes=10)
THROTTLE_LIMIT = 5
MAX_PENDING_INVITES = 10


async def invite(ctx: Ctx, cmd: Command) -> None:
    """Create a single-use contact invite: a deep link where the platform has them."""
    if (
        await contact_store.pending_invites(ctx.session, ctx.user.id, ctx.now)
        >= MAX_PENDING_INVITES
    ):
        raise UserError("invite.too_many", max=MAX_PENDING_INVITES)
    ttl = ctx.rt.settings.security.invite_ttl
    label = clean_name(cmd.args, fallback="") or None
    code = await contact_store.create_invite(
        ctx.session, kind="contact", inviter_id=ctx.user.id, now=ctx.now, ttl=ttl, label=label
    )
    link = ctx.rt.link_for(ctx.platform, code)
    hours = max(1, int(ttl.total_seconds() // 3600))
    if link:
        await ctx.reply("invite.link", link=link, code=code, hours=hours)
    else:
        await ctx.reply("invite.code", code=code, hours=hours)


async def usable_invite(ctx: Ctx, code: str, kind: str | None = None) -> Invite:
    """The pending invite behind a code, or one answer that reveals nothing."""
    since = ctx.now - THROTTLE_WINDOW
    if await contact_store.bad_attempts(ctx.session, ctx.user.id, since) >= THROTTLE_LIMIT:
        raise UserError("invite.throttled")
    found = await contact_store.find_pending_invite(ctx.session, code, ctx.now)
    if found is None or (kind is not None and found.kind != kind):
        raise BadCode()
    return found


class BadCode(UserError):
    """A wrong, used or expired code (the same answer for each).

    The attempt is counted after the refusal rolls the handler back, so it sticks.
    """

    def __init__(self) -> None:
        super().__init__("invite.bad_code")

        async def count(ctx: Ctx) -> None:
            await contact_store.record_bad_attempt(ctx.session, ctx.user.id, ctx.now)

        self.after_rollback = count


async def show_invite(ctx: Ctx, found: Invite, code: str) -> None:
    """`/start CODE` for a contact invite: who is asking, and Accept / Decline."""
    if found.inviter_id == ctx.user.id:
        raise UserError("invite.own")
    names = await user_store.names_of(ctx.session, [found.inviter_id])
    name = clean_name(names.get(found.inviter_id, ""))
    choices = ((Choice(ctx.t("invite.accept_button"), f"/accept {code}"),
                Choice(ctx.t("invite.decline_button"), f"/decline {code}")),)  # fmt: skip
    await ctx.reply("invite.shown", name=name, choices=choices)


async def accept(ctx: Ctx, cmd: Command) -> None:
    """Accept a contact invite: the invited person's explicit consent."""
    code = _one_code(cmd)
    found = await usable_invite(ctx, code, kind="contact")
    if found.inviter_id == ctx.user.id:
        raise UserError("invite.own")
    if not await contact_store.close_invite(
        ctx.session, found.id, "accepted", ctx.user.id, ctx.now
    ):
        raise BadCode()  # someone else used this single-use code a moment ago
    label = found.label or await _next_label(ctx, found.inviter_id)
    linked = await contact_store.link(ctx.session, found.inviter_id, ctx.user.id, label, ctx.now)
    names = await user_store.names_of(ctx.session, [found.inviter_id])
    defender = clean_name(names.get(found.inviter_id, ""))
    await ctx.reply("invite.accepted" if linked else "invite.already", name=defender)
    if linked:  # the defender's chat names a contact only by the label they chose
        await ctx.tell(found.inviter_id, "invite.accepted_defender", name=label)


async def _next_label(ctx: Ctx, defender_id: int) -> str:
    """The first default label ("contact 1", "contact 2", …) the defender does not use.

    In the defender's language: a phone read by someone else shows no contact's name.
    """
    lang = (await user_store.langs_of(ctx.session, [defender_id])).get(defender_id, "en")
    taken = {c.label for c, _ in await contact_store.contacts_of(ctx.session, defender_id)}
    n = 1
    while t("contacts.default_label", lang, n=n) in taken:
        n += 1
    return t("contacts.default_label", lang, n=n)


def _label(ctx: Ctx, link: Contact, position: int) -> str:
    """How the defender's chat names one of their contacts (never by the contact's name)."""
    return link.label or ctx.t("contacts.default_label", n=position)


async def decline(ctx: Ctx, cmd: Command) -> None:
    """Decline a contact invite; the inviter is told, and nobody is linked."""
    code = _one_code(cmd)
    found = await usable_invite(ctx, code, kind="contact")
    if not await contact_store.close_invite(
        ctx.session, found.id, "declined", ctx.user.id, ctx.now
    ):
        raise BadCode()
    await ctx.reply("invite.declined")
    await ctx.tell(found.inviter_id, "invite.declined_defender")


def _one_code(cmd: Command) -> str:
    words = cmd.words
    if len(words) != 1 or len(words[0]) > 64:
        raise UserError("invite.code_usage")
    return words[0]


async def contacts(ctx: Ctx, cmd: Command) -> None:
    """My trusted contacts, and the defenders I am a contact for."""
    mine = await contact_store.contacts_of(ctx.session, ctx.user.id)
    theirs = await contact_store.defenders_of(ctx.session, ctx.user.id)
    if not mine and not theirs:
        await ctx.reply("contacts.none")
        return
    lines = [ctx.t("contacts.mine_header") if mine else ctx.t("contacts.mine_none")]
    lines += [
        ctx.t("contacts.item", id=c.id, name=_label(ctx, c, i)) for i, (c, _) in enumerate(mine, 1)
    ]
    if mine:
        counts = await reach_store.counts(ctx.session, ctx.user.id)
        lines.append(ctx.t("reach.counts", confirmed=counts.confirmed, stale=counts.stale))
    if theirs:
        lines.append(ctx.t("contacts.theirs_header"))
        lines += [
            ctx.t("contacts.item", id=c.id, name=clean_name(u.display_name)) for c, u in theirs
        ]
    lines.append(ctx.t("contacts.remove_hint"))
    await ctx.reply_text("\n".join(lines))


async def contact_remove(ctx: Ctx, cmd: Command) -> None:
    """End a contact link from either side; the other side is told only that it ended."""
    words = cmd.words
    if len(words) != 1 or not is_ascii_number(words[0].lstrip("#")):
        raise UserError("contacts.remove_usage")
    link_id = int(words[0].lstrip("#"))
    removed = await contact_store.unlink(ctx.session, link_id, ctx.user.id)
    if removed is None:
        raise UserError("contacts.no_such", id=link_id)
    mine = removed.defender_id == ctx.user.id
    other = removed.contact_id if mine else removed.defender_id
    names = await user_store.names_of(ctx.session, [other, ctx.user.id])
    # The contact takes no further part in the defender's open alerts.
    await engine.left(
        ctx.session, ctx.rt.settings, removed.contact_id, [removed.defender_id], ctx.now
    )
    # the defender's side names the contact by the label only
    label = removed.label or f"#{link_id}"  # links made before labels: their number
    await ctx.reply("contacts.removed", name=label if mine else clean_name(names.get(other, "")))
    told = clean_name(names.get(ctx.user.id, "")) if mine else label
    await ctx.tell(other, "contacts.link_ended", name=told)


def _alert_number(cmd: Command) -> tuple[int | None, str]:
    """`[ALERT] [note]` → (alert number or None, the rest)."""
    words = cmd.words
    if words and is_ascii_number(words[0].lstrip("#")):
        return int(words[0].lstrip("#")), cmd.args.strip()[len(words[0]) :].strip()
    return None, cmd.args.strip()


async def ack(ctx: Ctx, cmd: Command) -> None:
    """Acknowledge an alert ("I'm on it").

    Holds level 2 and the repeats, and tells the other recipients who is handling
    it (the engine decides; this only passes who, which alert and where).
    """
    words = cmd.words
    if len(words) > 1 or (words and not is_ascii_number(words[0].lstrip("#"))):
        raise UserError("ack.usage")
    wanted, _ = _alert_number(cmd)
    chat = None if ctx.incoming.is_private else ctx.incoming.chat
    outcome = await engine.acknowledge(
        ctx.session, ctx.rt.settings, ctx.user.id, wanted, ctx.now, group_chat=chat
    )
    if outcome.reply == "ack.none" and wanted is not None:  # that one is closed; another?
        other = await engine.has_open_alert(ctx.session, ctx.user.id, chat)
        raise UserError("ack.not_open_other" if other else "ack.not_open", id=wanted)
    if outcome.reply == "ack.none":
        raise UserError("ack.none")
    await ctx.reply(outcome.reply or "ack.thanks", kind=MessageKind.ALERT, **outcome.params)


async def resolve(ctx: Ctx, cmd: Command) -> None:
    """Close an alert: the defender is safe ("Resolved: they are safe").

    Everyone else alerted hears who resolved it, with the note if one was given.
    """
    wanted, note = _alert_number(cmd)
    chat = None if ctx.incoming.is_private else ctx.incoming.chat
    outcome = await engine.resolve(
        ctx.session, ctx.rt.settings, ctx.user.id, wanted, ctx.now,
        note=clean_note(note), group_chat=chat,
    )  # fmt: skip
    if not outcome.done:
        raise UserError("resolve.none")
    await ctx.reply(outcome.reply or "resolve.thanks", kind=MessageKind.ALERT, **outcome.params)


#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "invite": Route(invite),
    "accept": Route(accept),
    "decline": Route(decline),
    "contacts": Route(contacts),
    "contact_remove": Route(contact_remove),
    "ack": Route(ack, private_only=False),
    "resolve": Route(resolve, private_only=False),
}
