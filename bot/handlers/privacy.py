"""/mydata and /forgetme: everything stored about a person, to take away or to erase.

`/mydata` sends a JSON document: as a file where the platform takes files, inline
on the console. It leaves out duress alerts and the duress word's existence (see
`store.privacy.export`): a phone taken from the defender must not reveal them.

`/forgetme` erases after an explicit confirmation (`/forgetme confirm` within ten
minutes). The people linked to the person are told only that a link ended, without
a name, so no message about them survives the erasure. The person gets one last
message saying it is done; it is linked to nobody and deleted once sent.
Sent while their own alert is open, it never undoes the alert (`_erase`).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from bot import engine
from bot.core import cleanup as core_cleanup
from bot.core import exports, seized
from bot.core.commands import Command
from bot.core.durations import parse_duration
from bot.core.errors import UserError
from bot.core.model import Attachment, Choice, MessageKind, Outgoing
from bot.core.text import clean_name
from bot.handlers.context import Ctx
from bot.handlers.router import Route
from bot.i18n import dates, t
from bot.store import cleanup as cleanup_store
from bot.store import deferred as deferred_store
from bot.store import outbox
from bot.store import privacy as privacy_store
from bot.store import users as user_store

log = logging.getLogger(__name__)

#: Platforms whose transports send files; elsewhere the document goes in the text.
CONFIRM_WITHIN = timedelta(minutes=10)
EXPORT_NAME = "holdfast-my-data.json"


async def mydata(ctx: Ctx, cmd: Command) -> None:
    """A readable summary in the chat, and everything stored as a JSON file.

    Every platform gets the file: a document on Telegram, an attachment on Signal, a
    file written by the console. Within bounds (`bot.core.exports`): once an hour per
    person (sooner gets when it can be asked again), each list cut to its newest
    entries (the file says what it left out), a large file sent in parts.
    """
    again = exports.next_allowed(ctx.user.mydata_at, ctx.now)
    if again is not None:
        await ctx.reply("mydata.wait", at=dates.local_time(again, ctx.zone, ctx.lang))
        return
    ctx.user.mydata_at = ctx.now
    doc = await privacy_store.export(ctx.session, ctx.user.id)
    text = ctx.t("mydata.summary", timezone=ctx.zone.key, **_counts(doc))
    doc = exports.bound(doc, exports.MAX_ITEMS)
    if exports.LEFT_OUT in doc:
        text += "\n\n" + ctx.t("mydata.left_out")
    data = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
    pieces = exports.parts(data, exports.PART_BYTES)
    total = len(pieces)
    for number, piece in enumerate(pieces, start=1):
        name = (
            EXPORT_NAME
            if total == 1
            else EXPORT_NAME.replace(".json", f"-{number}-of-{total}.json")
        )
        if number == 1:
            text += "\n\n" + (
                ctx.t("mydata.attached")
                if total == 1
                else ctx.t("mydata.attached_parts", total=total)
            )
        else:
            text = ctx.t("mydata.part", number=number, total=total)
        out = Outgoing(
            ctx.incoming.chat, text, attachment=Attachment(name, "application/json", piece)
        )
        await outbox.enqueue(
            ctx.session,
            out.evolve(answer_ref=ctx.incoming.answer_ref) if number == 1 else out,
            now=ctx.now,
            user_id=ctx.user.id,
            dedupe_key=privacy_store.export_key(),
        )


def _counts(doc: dict[str, Any]) -> dict[str, Any]:
    """How much of each kind is stored: what the summary shows, without the details."""
    kinds = ("schedules", "check_ins", "trusted_contacts", "trusted_contact_for", "groups")
    counts = {kind: len(doc.get(kind) or ()) for kind in kinds}
    return counts | {"messages": len(doc.get("messages_to_you") or ())}


async def forgetme(ctx: Ctx, cmd: Command) -> None:
    """Ask for confirmation, then (on `/forgetme confirm`) erase the person."""
    if ctx.deferred:  # confirmed when it was kept: the rest of an erasure
        await finish_erase(ctx)
        return
    word = cmd.args.strip().casefold()
    if not word:
        ctx.user.forget_requested_at = ctx.now
        button = Choice(ctx.t("forget.confirm_button"), "/forgetme confirm")
        await ctx.reply("forget.confirm", choices=((button,),))
        return
    if word != "confirm":
        raise UserError("forget.usage")
    asked = ctx.user.forget_requested_at
    if asked is None or not ctx.now - CONFIRM_WITHIN <= asked <= ctx.now:
        raise UserError("forget.not_requested")
    await _erase(ctx)


async def _erase(ctx: Ctx) -> None:
    """Erase in the handler's transaction: the notices commit with the erasure or not at all.

    While the person's own alert is open (or its messages wait to be sent), the
    alert is not undone (`bot.core.seized`): everyone it reached hears that the
    phone sent /forgetme, all it does not need is erased now, and the rest once it
    is closed (`finish_erase`, run as a deferred command).
    """
    alert_open, unsent = await deferred_store.alert_state(ctx.session, ctx.user.id)
    decision = seized.on_lowering("forgetme", alert_open=alert_open, unsent=unsent)
    if decision.erase_now:
        await _erase_around_alert(ctx, decision.when)
        return
    await finish_erase(ctx, farewell=True)


async def _erase_around_alert(ctx: Ctx, when: str) -> None:
    user_id = ctx.user.id
    alerts = await deferred_store.alert_checkins(ctx.session, user_id)
    await engine.phone_lowered(ctx.session, alerts, "/forgetme", ctx.now)
    chat = ctx.incoming.chat
    await deferred_store.defer(
        ctx.session, user_id=user_id, when=when, text="/forgetme confirm",
        platform=chat.platform, chat_id=chat.chat_id, now=ctx.now,
    )  # fmt: skip
    farewell = Outgoing(chat, ctx.t("forget.done_later"), answer_ref=ctx.incoming.answer_ref)
    ended = await privacy_store.erase_except_alerts(ctx.session, user_id, alerts)
    for other in ended:
        await ctx.tell(other, "forget.link_ended", kind=MessageKind.INFO)
    await privacy_store.queue_farewell(ctx.session, farewell, ctx.now)
    # the same line as a whole erasure: logs do not tell which alert was open, or why
    log.info("person erased", extra={"action": "privacy.erased", "links_ended": len(ended)})


async def finish_erase(ctx: Ctx, *, farewell: bool = False) -> None:
    """Erase the person entirely; tell the people linked, and (`farewell`) the person."""
    user_id = ctx.user.id
    linked = await privacy_store.linked_people(ctx.session, user_id)
    raw_name = ctx.user.display_name or ""
    names = {raw_name, clean_name(raw_name, fallback="")}
    goodbye = Outgoing(ctx.incoming.chat, ctx.t("forget.done"), answer_ref=ctx.incoming.answer_ref)
    fates = await privacy_store.erase(ctx.session, user_id, names, ctx.now)
    for other in linked:
        await ctx.tell(other, "forget.link_ended", kind=MessageKind.INFO)
    await _tell_group_fates(ctx, fates)
    if farewell:
        await privacy_store.queue_farewell(ctx.session, goodbye, ctx.now)
    log.info("person erased", extra={"action": "privacy.erased", "links_ended": len(linked)})


async def _tell_group_fates(ctx: Ctx, fates: list[privacy_store.GroupFate]) -> None:
    """No group is left behind silently.

    The members of a closed group and its alert chats are told, and so are the
    organisers of a group that changed hands.
    """
    for fate in fates:
        name = clean_name(fate.name, fallback=f"#{fate.group_id}")
        if fate.closed:
            for member in fate.members:
                await ctx.tell(member, "group.closed_no_organiser", name=name)
            for chat in fate.chats:
                text = t("group.closed_chat", "en", id=fate.group_id)
                await ctx.send(chat, text, kind=MessageKind.INFO)
        elif fate.new_owner is not None:
            await ctx.tell(fate.new_owner, "group.owner_inherited", name=name, id=fate.group_id)
            heir = clean_name(
                (await user_store.names_of(ctx.session, [fate.new_owner])).get(fate.new_owner, "")
            )
            for organiser in fate.organisers:
                await ctx.tell(organiser, "group.owner_changed", who=heir, group=name,
                               id=fate.group_id)  # fmt: skip


async def cleanup(ctx: Ctx, cmd: Command) -> None:
    """`/cleanup 24h` / `/cleanup off`: delete this chat's messages after a while.

    Telegram: the bot deletes its own messages here (not alerts about others) and the
    person's own, after the chosen time (`bot.core.cleanup`). Signal: the chat's
    disappearing-message timer is set. The reply says what it does not do.
    """
    word = cmd.args.strip().casefold()
    platform = ctx.incoming.chat.platform
    if not word:
        chosen = ctx.user.cleanup_after_s
        if chosen:
            hours = chosen // 3600
            await ctx.reply("cleanup.status_on", hours=hours)
        else:
            await ctx.reply("cleanup.status_off")
        return
    if word == "off":
        ctx.user.cleanup_after_s = None
        await cleanup_store.stop(ctx.session, ctx.user.id)
        await ctx.reply("cleanup.off_signal" if platform == "signal" else "cleanup.off")
        return
    after = parse_duration(word)
    if not core_cleanup.allowed(after):
        raise UserError("cleanup.usage")
    if platform not in ("telegram", "signal"):
        raise UserError("cleanup.not_here")
    seconds = int(after.total_seconds())
    ctx.user.cleanup_after_s = seconds
    hours = seconds // 3600
    if platform == "signal":  # Signal deletes on both phones once the timer is set
        chat = ctx.incoming.chat
        await cleanup_store.remember(
            ctx.session,
            [{"user_id": ctx.user.id, "platform": chat.platform, "chat_id": chat.chat_id,
              "message_id": None, "seconds": seconds, "due_at": ctx.now}],
        )  # fmt: skip
        await ctx.reply("cleanup.on_signal", hours=hours)
        return
    await ctx.reply("cleanup.on_telegram", hours=hours)


#: The commands this module answers.
ROUTES: dict[str, Route] = {
    "mydata": Route(mydata),
    "forgetme": Route(forgetme),
    "cleanup": Route(cleanup),
}
