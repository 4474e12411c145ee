"""The gate that keeps a seized phone from undoing an open alert (`bot.core.seized`).

Called by the router for every command that lowers protection, inside the
command's savepoint (a refused command tells nobody). While the sender's alert is
open or its messages wait: everyone the alert reached is told what the phone sent,
and a command is kept (`deferred_commands`) until the alert's messages are out,
then carried out by `Router.run_deferred` as if sent then. `/forgetme` decides for
itself (`bot.handlers.privacy`), since part of it happens at once.
"""

from __future__ import annotations

from bot import engine
from bot.core import seized
from bot.core.commands import Command
from bot.handlers.context import Ctx
from bot.store import deferred as deferred_store


async def gate(ctx: Ctx, command: Command) -> bool:
    """Decide a lowering command; True when it was kept for later (and answered)."""
    if ctx.deferred or command.name == "forgetme":
        return False
    alert_open, unsent = await deferred_store.alert_state(ctx.session, ctx.user.id)
    decision = seized.on_lowering(command.name, alert_open=alert_open, unsent=unsent)
    if decision.tell:
        alerts = await deferred_store.alert_checkins(ctx.session, ctx.user.id)
        await engine.phone_lowered(ctx.session, alerts, f"/{command.name}", ctx.now)
    if decision.when != seized.When.DELIVERED:
        return False
    chat = ctx.incoming.chat
    await deferred_store.defer(
        ctx.session, user_id=ctx.user.id, when=decision.when, platform=chat.platform,
        chat_id=chat.chat_id, text=f"/{command.name} {command.args}".strip(), now=ctx.now,
    )  # fmt: skip
    await ctx.reply("lowering.deferred")
    return True
