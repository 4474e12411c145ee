"""A transport that records what it sends and fails when told to (errbot's TestBackend idea).

`FakeTransport` implements the `Transport` protocol with no network: `sent` holds
every message delivered, `attempts` every call to `send` (failed ones too), and
`fail_next(error, times, chat=...)` makes the next sends raise, for one chat or any
chat, so delivery's retry, rate-limit and report paths run against the real outbox.
`push()` feeds an `Incoming` to the app as the platform would.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

from bot.core.model import Address, Delivered, Incoming, Outgoing, Sender
from bot.transports.base import OnIncoming, render_numbered

ErrorFactory = Callable[[], Exception]


class FakeTransport:
    """An in-memory platform; every send is recorded, failures are scripted."""

    def __init__(self, platform: str = "fake", *, numbered_choices: bool = True) -> None:
        self.platform = platform
        self.numbered_choices = numbered_choices
        self.sent: list[Outgoing] = []
        self.attempts: list[Outgoing] = []
        self.on_incoming: OnIncoming | None = None
        self.started = False
        self._failures: dict[str | None, deque[ErrorFactory]] = {}
        self._ids = itertools.count(1)

    # -- scripting ------------------------------------------------------------------

    def fail_next(
        self, error: Exception | ErrorFactory, times: int = 1, *, chat: str | None = None
    ) -> None:
        """Make the next `times` sends (to `chat`, or to any chat) raise `error`.

        Pass an exception instance (raised each time) or a factory making a fresh one.
        Failures scripted for a chat are used before those for any chat.
        """
        factory: ErrorFactory = error if callable(error) else (lambda: error)  # type: ignore[assignment]
        self._failures.setdefault(chat, deque()).extend([factory] * times)

    def recover(self, chat: str | None = None) -> None:
        """Drop the failures still scripted for `chat` (or for any chat): the platform is back."""
        self._failures.pop(chat, None)

    def to(self, chat_id: str) -> list[str]:
        """Texts delivered to one chat, rendered as a numbered platform shows them."""
        return [render_numbered(o) for o in self.sent if o.to.chat_id == chat_id]

    async def push(self, user: str, text: str, *, chat: str | None = None, **flags: object) -> None:
        """`user` sends `text` (in their private chat, or in group chat `chat`)."""
        if self.on_incoming is None:
            raise RuntimeError("fake transport not started")
        incoming = Incoming(
            sender=Sender(self.platform, user, user.capitalize()),
            chat=Address(self.platform, chat or user),
            is_private=chat is None,
            text=text,
            **flags,  # type: ignore[arg-type]
        )
        await self.on_incoming(incoming)

    # -- Transport protocol -----------------------------------------------------------

    async def start(self, on_incoming: OnIncoming, *, receive: bool = True) -> None:
        self.on_incoming = on_incoming
        self.started = True

    async def send(self, out: Outgoing) -> Delivered:
        self.attempts.append(out)
        failure = self._take_failure(out.to.chat_id)
        if failure is not None:
            raise failure()
        self.sent.append(out)
        return Delivered(message_id=str(next(self._ids)))

    async def stop(self) -> None:
        self.started = False

    def _take_failure(self, chat_id: str) -> ErrorFactory | None:
        for key in (chat_id, None):
            queue = self._failures.get(key)
            if queue:
                return queue.popleft()
        return None
