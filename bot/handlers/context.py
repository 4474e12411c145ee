"""What a handler gets: the person, the message, the session, and ways to answer.

Replies are queued in the outbox inside the handler's transaction; they go out only
if the handler's changes commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Address, Choice, Incoming, MessageKind, Outgoing
from bot.i18n import t
from bot.runtime import Runtime
from bot.store import outbox
from bot.store import users as user_store
from bot.store.models import User


@dataclass
class Ctx:
    """One incoming message being handled."""

    rt: Runtime
    session: AsyncSession
    incoming: Incoming
    user: User
    now: datetime
    new_user: bool = False
    #: carrying out a command kept while the sender's alert was open (`bot.core.seized`)
    deferred: bool = False
    #: The kind of every reply to this message (`MessageKind.ANSWER` for an answer).
    reply_kind: MessageKind = MessageKind.REPLY
    #: Work queued after every reply to this message (see `after_reply`).
    afterwards: list[Callable[[Ctx], Awaitable[None]]] = field(default_factory=list)

    def after_reply(self, work: Callable[[Ctx], Awaitable[None]]) -> None:
        """Run `work` once this message's replies are queued, even if it was refused.

        The router runs it in the same transaction, after the handler (and after a
        refusal's rollback): a duress alert goes in after the reply the phone shows,
        and is raised whatever that reply is.
        """
        self.afterwards.append(work)

    @property
    def lang(self) -> str:
        """The person's language."""
        return self.user.lang or "en"

    @property
    def platform(self) -> str:
        """The platform the message came from."""
        return self.incoming.chat.platform

    @property
    def zone(self) -> ZoneInfo:
        """The person's time zone, or the configured default."""
        return ZoneInfo(self.user.timezone or self.rt.settings.checkins.default_timezone)

    def t(self, key: str, /, **params: Any) -> str:
        """A catalog text in this person's language."""
        return t(key, self.lang, **params)

    async def reply(
        self,
        key: str,
        /,
        *,
        choices: tuple[tuple[Choice, ...], ...] = (),
        kind: MessageKind | None = None,
        **params: Any,
    ) -> None:
        """Answer in the chat the message came from."""
        await self.reply_text(self.t(key, **params), choices=choices, kind=kind)

    async def reply_text(
        self,
        text: str,
        *,
        choices: tuple[tuple[Choice, ...], ...] = (),
        kind: MessageKind | None = None,
    ) -> None:
        """Answer with text already rendered (several catalog lines joined)."""
        out = Outgoing(
            self.incoming.chat, text, choices, kind=kind or self.reply_kind,
            answer_ref=self.incoming.answer_ref,
        )  # fmt: skip
        await outbox.enqueue(self.session, out, now=self.now, user_id=self.user.id)

    async def tell(
        self,
        user_id: int,
        key: str,
        /,
        *,
        kind: MessageKind = MessageKind.INFO,
        choices: tuple[tuple[Choice, ...], ...] = (),
        **params: Any,
    ) -> bool:
        """Send a catalog message to another person's private chat, in their language."""
        address = await user_store.address_of(self.session, user_id)
        if address is None:
            return False
        lang = (await user_store.langs_of(self.session, [user_id])).get(user_id, "en")
        await self.send(
            address, t(key, lang, **params), kind=kind, choices=choices, user_id=user_id
        )
        return True

    async def send(
        self,
        to: Address,
        text: str,
        *,
        kind: MessageKind = MessageKind.INFO,
        choices: tuple[tuple[Choice, ...], ...] = (),
        user_id: int | None = None,
    ) -> None:
        """Queue a message to any chat."""
        await outbox.enqueue(
            self.session, Outgoing(to, text, choices, kind=kind), now=self.now, user_id=user_id
        )
