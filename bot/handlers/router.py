"""Dispatch one `Incoming`: record it, find the person, route the command, answer.

Everything a message causes commits in one transaction with the record that the
update was handled, so an update fetched twice is handled once and a crash before
the commit means the platform delivers it again. Bad input is answered with one
short message and changes nothing: the handler runs in a savepoint that is rolled
back on `UserError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core import commands
from bot.core import seized as core_seized
from bot.core.commands import Command
from bot.core.errors import UserError
from bot.core.flood import FloodGuard, Verdict
from bot.core.model import Address, Incoming, MessageKind, Outgoing, Sender
from bot.core.text import is_ascii_number
from bot.handlers import secrets, seized
from bot.handlers.context import Ctx
from bot.i18n import has, t, zawgyi
from bot.runtime import Runtime
from bot.store import chats, outbox
from bot.store import cleanup as cleanup_store
from bot.store import deferred as deferred_store
from bot.store import users as user_store
from bot.store.db import transaction

log = logging.getLogger(__name__)

Handler = Callable[[Ctx, Command], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """A command's handler and where it may be used."""

    handler: Handler
    private_only: bool = True
    #: For a command that lowers protection only in some states (a new `/timer` while
    #: one runs moves its deadline): true when it does now, so the PIN gate applies.
    lowers_now: Callable[[Ctx, Command], Awaitable[bool]] | None = None


#: What may be a check-in answer goes here first (`checkins.on_answer`): None if it
#: was handled, else the text to go on with (the same, or `/help` for "help").
AnswerHandler = Callable[[Ctx, str], Awaitable[str | None]]
#: Commands whose text is read as an answer (plain `help` too, not `/help`).
ANSWERS = frozenset({"ok", "sos"})


#: Commands whose names alone would tell a reader of the logs who set or used a safety
#: feature (a duress word, a PIN, an SOS typed as the duress word): one action for all.
PRIVATE_TRAFFIC = frozenset({"ok", "sos", "duress", "pin", "unlock"})


def _action(name: str) -> str:
    return "command.private" if name in PRIVATE_TRAFFIC else f"command.{name}"


class Router:
    """Turns incoming messages into handler calls; one per running bot."""

    def __init__(
        self,
        rt: Runtime,
        routes: dict[str, Route],
        on_first_contact: Callable[[Ctx], Awaitable[None]],
        on_answer: AnswerHandler | None = None,
        is_sos: Callable[[str], bool] | None = None,
    ) -> None:
        self._rt = rt
        self._routes = routes
        self._first_contact = on_first_contact
        self._on_answer = on_answer
        self._is_sos = is_sos
        self._flood = FloodGuard()

    async def handle(self, incoming: Incoming) -> None:
        """Handle one message; returns once it and its replies are committed."""
        now = self._rt.clock.now()
        if incoming.text:  # Burmese typed in Zawgyi is read as Unicode, everywhere after here
            incoming = replace(incoming, text=zawgyi.to_unicode(incoming.text))
        verdict = self._flood.check(
            (incoming.sender.platform, incoming.sender.user_id), now.timestamp()
        )
        if verdict is not Verdict.HANDLE:
            # Before any database work, so a flood costs the flooder only.
            if verdict is Verdict.WARN:
                log.warning("sender over the rate limit", extra={"action": "router.flood"})
            if verdict is Verdict.WARN and incoming.is_private:
                async with transaction(self._rt.sessions) as session:
                    await outbox.enqueue(
                        session, Outgoing(incoming.chat, t("error.slow_down", "en")), now=now
                    )
                self._rt.on_queued()
            return
        async with transaction(self._rt.sessions) as session:
            key = incoming.dedupe_key
            if key and not await chats.first_time(session, incoming.chat.platform, key, now):
                log.debug("duplicate update", extra={"action": "router.duplicate"})
                return
            private_chat = incoming.chat.chat_id if incoming.is_private else None
            user, new = await user_store.register(session, incoming.sender, private_chat, now)
            # The notice goes with the first *private* message: someone whose first
            # message was in a group hears it when they first write to the bot alone.
            first_private = incoming.is_private and user.privacy_notice_at is None
            if first_private:
                user.privacy_notice_at = now
            ctx = Ctx(self._rt, session, incoming, user, now, new or first_private)
            if incoming.message_ref and user.cleanup_after_s:  # `/cleanup`: theirs goes too
                await cleanup_store.remember(session, [{
                    "user_id": user.id, "platform": incoming.chat.platform,
                    "chat_id": incoming.chat.chat_id, "message_id": incoming.message_ref,
                    "seconds": None, "due_at": now + timedelta(seconds=user.cleanup_after_s),
                }])  # fmt: skip
            if first_private:
                await self._first_contact(ctx)
            await self._dispatch(ctx)
            for work in ctx.afterwards:  # after every reply, refused or not
                await work(ctx)
        self._rt.on_queued()

    async def _dispatch(self, ctx: Ctx) -> None:
        incoming = ctx.incoming
        text = incoming.choice or incoming.text
        if not text.strip():
            if incoming.is_private and not incoming.has_text:
                await ctx.reply("error.text_only")
            return
        try:
            text = await self._numbered(ctx, text)
            text = secrets.take_pending(ctx, text) or text  # the PIN a command waited for
            command = commands.parse(text, is_sos=self._is_sos)
        except UserError as error:
            await self._refuse(ctx, error)
            return
        rest = await self._answer(ctx, text, command)
        if rest is None:
            return
        if rest != text:
            text, command = rest, commands.parse(rest)
        if command is None:
            await self._plain_text(ctx, text)
            return
        if incoming.edited or incoming.forwarded:
            if incoming.is_private:
                await ctx.reply("error.edited" if incoming.edited else "error.forwarded")
            return
        await self._run(ctx, command)

    async def _numbered(self, ctx: Ctx, text: str) -> str:
        """A bare number answers the numbered choices last shown in this chat."""
        stripped = text.strip()
        if ctx.incoming.choice or not is_ascii_number(stripped) or len(stripped) > 2:
            return text
        if ctx.platform not in self._rt.numbered_platforms:
            return text
        command = await chats.choice_for(
            ctx.session, ctx.platform, ctx.incoming.chat.chat_id, int(stripped), ctx.now
        )
        return command or text

    async def _plain_text(self, ctx: Ctx, text: str) -> None:
        if not ctx.incoming.is_private:
            return  # ordinary chatter in a group is none of our business
        if ctx.incoming.edited or ctx.incoming.forwarded:
            return
        await ctx.reply("error.not_a_command")

    async def _answer(self, ctx: Ctx, text: str, command: Command | None) -> str | None:
        """Read a private message as a check-in answer (the one grammar).

        Returns None if it was one (and was answered), else the text to go on with.
        """
        incoming = ctx.incoming
        if self._on_answer is None or not incoming.is_private:
            return text
        if incoming.edited or incoming.forwarded:
            return text  # an old or someone else's answer never counts
        if command is not None and command.name not in ANSWERS:
            if command.name != "help" or command.slash:
                return text
        rest: str | None = None  # a refusal (UserError) is an answer, answered
        ctx.reply_kind = MessageKind.ANSWER  # before any alert it raises (duress, SOS)

        async def read(ctx: Ctx) -> None:
            nonlocal rest
            assert self._on_answer is not None
            rest = await self._on_answer(ctx, text)

        await self._guarded(ctx, "ok", read)
        return rest

    async def _run(self, ctx: Ctx, command: Command) -> None:
        route = self._routes.get(command.name)
        if route is None:
            await ctx.reply("error.unknown_command", command=command.name)
            return
        if route.private_only and not ctx.incoming.is_private:
            await ctx.reply("error.private_only")
            return

        async def run(ctx: Ctx) -> None:
            guarded, deferred = command, False
            lowers = commands.lowers_protection(command) or bool(
                route.lowers_now and await route.lowers_now(ctx, command)
            )
            if lowers and not ctx.deferred:
                guarded = await secrets.guard(ctx, command)  # the one PIN gate
                # while the sender's own alert is open: told to its recipients, and
                # kept until its messages are out (`bot.core.seized`)
                deferred = await seized.gate(ctx, guarded)
            if not deferred:
                await route.handler(ctx, guarded)

        await self._guarded(ctx, command.name, run)

    async def _guarded(self, ctx: Ctx, name: str, work: Callable[[Ctx], Awaitable[None]]) -> None:
        """Run `work` in a savepoint: rolled back and answered on `UserError`."""
        try:
            async with ctx.session.begin_nested():
                await work(ctx)
        except UserError as error:
            if error.after_rollback is not None:
                await error.after_rollback(ctx)
            await self._refuse(ctx, error)
        except Exception:
            # A bug in one handler: its changes are rolled back, the person gets a
            # short answer, and the update counts as handled (no endless redelivery).
            # A broken database raises again below and the platform redelivers.
            log.exception("handler failed", extra={"action": f"{_action(name)}.failed"})
            await ctx.reply("error.generic")
        log.info("command", extra={"action": _action(name), "user_id": ctx.user.id})

    async def run_deferred(self, now: datetime | None = None) -> int:
        """Carry out commands kept while their sender's alert was open, once it allows.

        Each runs in its own transaction, as if just sent from the chat it came from
        (its reply goes there), without the gates it already passed. Crash-safe: a
        command is removed in the transaction that carries it out.
        """
        now = now or self._rt.clock.now()
        async with transaction(self._rt.sessions) as session:
            if not await deferred_store.any_waiting(session):
                return 0
            todo = [(c.id, c.user_id, c.when, c.text, c.platform, c.chat_id)
                    for c in await deferred_store.waiting(session)]  # fmt: skip
        done = 0
        for command_id, user_id, when, text, platform, chat_id in todo:
            async with transaction(self._rt.sessions) as session:
                alert_open, unsent = await deferred_store.alert_state(session, user_id)
                if not core_seized.ready(
                    core_seized.When(when), alert_open=alert_open, unsent=unsent
                ) or not await deferred_store.take(session, command_id):
                    continue
                user = await user_store.users_by_id(session, [user_id])
                command = commands.parse(text)
                if user_id not in user or command is None:
                    continue
                chat = Address(platform, chat_id)
                incoming = Incoming(Sender(platform, ""), chat, True, text)
                ctx = Ctx(self._rt, session, incoming, user[user_id], now, deferred=True)
                await self._run(ctx, command)
                done += 1
        if done:
            self._rt.on_queued()
        return done

    async def _refuse(self, ctx: Ctx, error: UserError) -> None:
        key = error.key if has(error.key) else "error.generic"
        await ctx.reply(key, **error.params)
