"""/link and /unlink: one person, several ways to reach them.

`/link` gives a one-time code; sent from the person's other app (`link CODE`), it
joins that platform identity to the same person, so alerts, reminders and prompts
that cannot get through on one platform go out on the other (`bot.failover`).
Messages go first to the platform the person used last.

Only an identity with nothing of its own (no check-ins, contacts or groups) can be
joined: merging two people's data is not something a code should do. The code is
single-use, short-lived and guessing is throttled like invite codes. The platform
the person had before is told when a new one is linked, so a code used by someone
else does not go unnoticed.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.commands import Command
from bot.core.errors import UserError
from bot.handlers.contacts import BadCode, usable_invite
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.store import contacts as contact_store
from bot.store import users as user_store
from bot.store.models import User

LINK_TTL = timedelta(hours=1)


async def link(ctx: Ctx, cmd: Command) -> None:
    """`/link`: a code for the other app; `link CODE` (from the other app): join them."""
    words = cmd.words
    if not words:
        code = await contact_store.create_invite(
            ctx.session, kind="link", inviter_id=ctx.user.id, now=ctx.now, ttl=LINK_TTL
        )
        await ctx.reply("link.code", code=code, minutes=int(LINK_TTL.total_seconds() // 60))
        return
    if len(words) != 1 or len(words[0]) > 64:
        raise UserError("link.usage")
    found = await usable_invite(ctx, words[0], kind="link")
    owner_id = found.inviter_id
    if owner_id == ctx.user.id:
        raise UserError("link.same_app")
    if ctx.platform in await user_store.platforms_of(ctx.session, owner_id):
        raise UserError("link.platform_taken")
    if await user_store.has_own_data(ctx.session, ctx.user.id):
        raise UserError("link.not_empty")
    if not await contact_store.close_invite(ctx.session, found.id, "accepted", owner_id, ctx.now):
        raise BadCode()  # used a moment ago from somewhere else
    before = await user_store.other_addresses(ctx.session, owner_id, ctx.platform)
    await user_store.merge_into(ctx.session, ctx.user.id, owner_id)
    ctx.user = await ctx.session.get_one(User, owner_id)
    await ctx.reply("link.done")
    for address in before:
        await ctx.send(
            address, ctx.t("link.added", platform=ctx.platform.title()), user_id=owner_id
        )


async def unlink(ctx: Ctx, cmd: Command) -> None:
    """`/unlink`: keep only the app this was sent from."""
    removed = await user_store.unlink_others(ctx.session, ctx.user.id, ctx.platform)
    await ctx.reply("link.removed" if removed else "link.nothing")


#: The commands this module answers.
ROUTES: dict[str, Route] = {"link": Route(link), "unlink": Route(unlink)}
