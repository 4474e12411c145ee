"""`contact_confirm`: a contact answers "Yes, I can still act" to the bot's re-check.

The question itself is sent by `bot.reach`; "No, remove me" is `/contact_remove`.
"""

from __future__ import annotations

from bot.core.commands import Command
from bot.core.errors import UserError
from bot.core.text import clean_name
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.store import reach as reach_store
from bot.store import users as user_store
from bot.store.models import Contact


async def contact_confirm(ctx: Ctx, cmd: Command) -> None:
    """The contact confirms they can still act for the defender of this link."""
    words = cmd.words
    if len(words) != 1 or not words[0].lstrip("#").isdigit():
        raise UserError("reach.usage")
    link_id = int(words[0].lstrip("#"))
    if not await reach_store.confirm(ctx.session, link_id, ctx.user.id, ctx.now):
        raise UserError("contacts.no_such", id=link_id)
    link = await ctx.session.get_one(Contact, link_id)
    names = await user_store.names_of(ctx.session, [link.defender_id])
    await ctx.reply("reach.thanks", name=clean_name(names.get(link.defender_id, "")))


#: The commands this module answers.
ROUTES: dict[str, Route] = {"contact_confirm": Route(contact_confirm)}
