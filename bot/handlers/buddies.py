"""`/buddy` and `/group_wellbeing`: the people who notice, never told how someone feels.

A buddy is one accepted trusted contact who accepted the role separately. The
defender may ask them to check in ("need to talk", the gentle word): the buddy
gets a request, never a score or a feeling. Either side ends it (`/buddy off`,
`/buddy end LINK`); ending the contact link ends it too (a cascade on the link).

An organiser may set the group's own support contact (`… support TEXT`), which
the gentle word then names. Organisers see a group, not a person: the week's
average and how many said "need to talk", only from members who opted in for that
group, and only when at least `K_MIN` of them answered (`core.wellbeing.group_view`).
"""

from __future__ import annotations

from bot.core import wellbeing as rules
from bot.core.commands import Command
from bot.core.errors import PermissionDenied, UserError
from bot.core.model import Choice
from bot.core.text import clean_name, clean_note
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.store import groups as group_store
from bot.store import users as user_store
from bot.store import wellbeing as store
from bot.store.groups import ORGANISER
from bot.store.models import Contact


async def _name(ctx: Ctx, user_id: int) -> str:
    return clean_name((await user_store.names_of(ctx.session, [user_id])).get(user_id, ""))


def _link_arg(word: str) -> int | None:
    raw = word.removeprefix("#")
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


async def buddy(ctx: Ctx, cmd: Command) -> None:
    """`/buddy`, `/buddy LINK`, `/buddy off`, `/buddy ask`, `/buddy accept|decline|end LINK`."""
    words = [w.casefold() for w in cmd.words]
    if not words:
        await _show(ctx)
    elif words == ["off"]:
        await _off(ctx)
    elif words == ["ask"]:
        await ask(ctx)
    elif len(words) == 2 and words[0] in ("accept", "decline", "end"):
        link_id = _link_arg(words[1])
        if link_id is None:
            raise UserError("buddy.usage")
        await _as_buddy(ctx, words[0], link_id)
    elif len(words) == 1 and (link_id := _link_arg(words[0])) is not None:
        await _name_buddy(ctx, link_id)
    else:
        raise UserError("buddy.usage")


async def _show(ctx: Ctx) -> None:
    row = await store.buddy_of(ctx.session, ctx.user.id)
    if row is None:
        await ctx.reply("buddy.none")
        return
    link = await ctx.session.get_one(Contact, row.link_id)
    key = "buddy.status" if row.accepted_at else "buddy.status_waiting"
    await ctx.reply(key, name=await _name(ctx, link.contact_id))


async def _name_buddy(ctx: Ctx, link_id: int) -> None:
    link = await ctx.session.get(Contact, link_id)
    if link is None or link.defender_id != ctx.user.id:
        raise UserError("buddy.no_such", id=link_id)
    await store.ask_buddy(ctx.session, ctx.user.id, link_id, ctx.now)
    me = await _name(ctx, ctx.user.id)
    buttons = (
        Choice(ctx.t("buddy.accept_button"), f"/buddy accept {link_id}"),
        Choice(ctx.t("buddy.decline_button"), f"/buddy decline {link_id}"),
    )
    await ctx.tell(link.contact_id, "buddy.invite", name=me, choices=(buttons,))
    await ctx.reply("buddy.asked", name=await _name(ctx, link.contact_id))


async def _as_buddy(ctx: Ctx, action: str, link_id: int) -> None:
    row = await store.buddy_request(ctx.session, link_id, ctx.user.id)
    if row is None or (action == "end" and row.accepted_at is None):
        raise UserError("buddy.no_request", id=link_id)
    defender = row.defender_id
    name = await _name(ctx, defender)
    me = await _name(ctx, ctx.user.id)
    if action == "accept":
        row.accepted_at = row.accepted_at or ctx.now
        await ctx.reply("buddy.accepted", name=name, id=link_id)
        await ctx.tell(defender, "buddy.accepted_defender", name=me)
    elif action == "decline":
        await store.end_buddy(ctx.session, defender)
        await ctx.reply("buddy.declined")
        await ctx.tell(defender, "buddy.declined_defender", name=me)
    else:
        await store.end_buddy(ctx.session, defender)
        await ctx.reply("buddy.ended")
        await ctx.tell(defender, "buddy.ended_other", name=me)


async def _off(ctx: Ctx) -> None:
    row = await store.buddy_of(ctx.session, ctx.user.id)
    if row is None:
        await ctx.reply("buddy.none")
        return
    link = await ctx.session.get_one(Contact, row.link_id)
    await store.end_buddy(ctx.session, ctx.user.id)
    await ctx.reply("buddy.ended")
    if row.accepted_at is not None:
        await ctx.tell(link.contact_id, "buddy.ended_other", name=await _name(ctx, ctx.user.id))


async def ask(ctx: Ctx) -> None:
    """Ask my buddy to check on me: a request, never a score or a feeling.

    After a duress answer the reply is the same and nothing is sent: the duress
    alert already asked the people who would act to be careful how they reach out.
    """
    buddy_id = await store.accepted_buddy(ctx.session, ctx.user.id)
    if buddy_id is None:
        await ctx.reply("buddy.check_nobody")
        return
    last = ctx.user.last_ok_at
    if last is None or not await store.duress_since(ctx.session, ctx.user.id, last):
        await ctx.tell(buddy_id, "buddy.check_on", name=await _name(ctx, ctx.user.id))
    await ctx.reply("buddy.check_asked", name=await _name(ctx, buddy_id))


# -- /group_wellbeing ----------------------------------------------------------------------


async def group_wellbeing(ctx: Ctx, cmd: Command) -> None:
    """`/group_wellbeing GROUP` (organisers: the view; members: their choice), `… share on|off`."""
    words = [w.casefold() for w in cmd.words]
    raw = words[0].removeprefix("#") if words else ""
    if not raw.isdigit() or len(raw) > 12:
        raise UserError("group_wellbeing.usage")
    group_id = int(raw)
    found = await group_store.role_in(ctx.session, group_id, ctx.user.id)
    if found is None:
        raise PermissionDenied("group.not_found_or_denied", id=group_id)
    group, role = found
    name = clean_name(group.name, fallback=f"#{group.id}")
    if words[1:2] == ["support"]:
        await _support(ctx, cmd, group_id, role, name)
    elif words[1:2] == ["share"] and len(words) == 3 and words[2] in ("on", "off"):
        on = words[2] == "on"
        await store.set_share(ctx.session, group_id, ctx.user.id, on, ctx.now)
        await ctx.reply(
            "group_wellbeing.shared" if on else "group_wellbeing.unshared", name=name, id=group_id
        )
    elif len(words) > 1:
        raise UserError("group_wellbeing.usage")
    elif role == ORGANISER:
        await _view(ctx, group_id, name)
    else:
        shares = await store.shares(ctx.session, group_id, ctx.user.id)
        state = ctx.t("group_wellbeing.member_in" if shares else "group_wellbeing.member_out")
        await ctx.reply("group_wellbeing.member", state=state, name=name, id=group_id)


async def _support(ctx: Ctx, cmd: Command, group_id: int, role: str, name: str) -> None:
    """`… support TEXT` / `… support off`: the group's own support contact (organisers)."""
    if role != ORGANISER:
        raise PermissionDenied("group.not_found_or_denied", id=group_id)
    text = clean_note(cmd.args.split(None, 2)[2] if len(cmd.words) > 2 else "")
    if not text:
        raise UserError("group_wellbeing.support_usage", id=group_id)
    if text.casefold() == "off":
        await store.set_support(ctx.session, group_id, None, ctx.now)
        await ctx.reply("group_wellbeing.support_removed", name=name)
    else:
        await store.set_support(ctx.session, group_id, text, ctx.now)
        await ctx.reply("group_wellbeing.support_set", name=name, support=text)


async def _view(ctx: Ctx, group_id: int, name: str) -> None:
    answers = await store.group_week(ctx.session, group_id, ctx.now - rules.WEEK, ctx.now)
    view = rules.group_view(answers)
    if view is None:
        await ctx.reply("group_wellbeing.too_few", name=name, k=rules.K_MIN)
    elif view.average is None:
        await ctx.reply(
            "group_wellbeing.view_no_scores",
            name=name,
            members=view.members,
            talk=view.need_to_talk,
        )
    else:
        await ctx.reply(
            "group_wellbeing.view", name=name, average=f"{view.average:.1f}",
            members=view.members, talk=view.need_to_talk,
        )  # fmt: skip


#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "buddy": Route(buddy),
    "group_wellbeing": Route(group_wellbeing, private_only=False),
}
