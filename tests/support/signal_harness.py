"""Holdfast on Signal in tests: the whole app over the real signalbot and a fake service.

`signal_app(...)` runs `Harness` (router, outbox, delivery, scheduler with a fake
clock) with a `SignalTransport` pointed at a `FakeSignal`, so a message pushed
into the fake's websocket goes through signalbot's parser, the transport, the
router and the outbox, and the answer comes back as a `/v2/send` the fake records.

The receive side runs in the transport's own task, so "handled" is observed, not
slept for: every handled update leaves its dedupe key in `processed_inbound`, in
the same transaction as its replies, and `handled()` polls for that row.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.store.models import ProcessedInbound
from bot.transports.signal import SignalTransport
from tests.support.clock import FakeClock
from tests.support.harness import Harness
from tests.support.servers.fake_signal import FakeSignal

#: How long a test waits for the app to take in one message before failing.
HANDLE_TIMEOUT = 5.0

_CODE_LINE = re.compile(r"^accept (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class SignalUser:
    """A person on Signal: the profile name the bot sees, their ACI (UUID) and number."""

    name: str
    uuid: str
    number: str


async def handled(h: Harness, platform: str, key: str, timeout: float = HANDLE_TIMEOUT) -> None:
    """Wait until the app committed the update with this dedupe key; fail after `timeout`."""
    stmt = select(ProcessedInbound.id).where(
        ProcessedInbound.platform == platform, ProcessedInbound.key == key
    )
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with h.app.rt.sessions() as session:
                    if (await session.execute(stmt)).first() is not None:
                        return
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(
            f"the app did not handle {platform} update {key} in {timeout}s"
        ) from None


def fast_signal(fake: FakeSignal, **options: Any) -> SignalTransport:
    """A SignalTransport on the fake, reconnecting in milliseconds rather than seconds."""
    options = {"reconnect_min": 0.01, "reconnect_max": 0.05, "stop_grace": 1.0, **options}
    return SignalTransport(fake.service, fake.number, **options)


class SignalSide:
    """Type as Signal users into a running app; read what the fake service was asked to send."""

    def __init__(self, h: Harness, fake: FakeSignal) -> None:
        self.h = h
        self.fake = fake
        self._seen: dict[str, int] = {}

    async def push(
        self, who: SignalUser, text: str, *, group: str | None = None, **kw: Any
    ) -> None:
        """`who` sends `text` (in `group`, a `group.…` id, if given); wait until it is handled."""
        ts = await self.fake.push_message(
            who.uuid, text, source_number=who.number, name=who.name, group_id=group, **kw
        )
        await handled(self.h, "signal", f"{who.uuid}:{ts}")

    async def say(
        self, who: SignalUser, text: str, *, group: str | None = None, **kw: Any
    ) -> list[str]:
        """`who` sends `text`; returns what their chat (or the group) got back."""
        await self.push(who, text, group=group, **kw)
        await self.h.deliver()
        return self.new_for(group or who)

    def inbox(self, chat: SignalUser | str) -> list[str]:
        """Every text the bot sent to a person (by UUID) or a group id."""
        return self.fake.messages_to(chat.uuid if isinstance(chat, SignalUser) else chat)

    def new_for(self, chat: SignalUser | str) -> list[str]:
        """What a person or group got since the last call."""
        key = chat.uuid if isinstance(chat, SignalUser) else chat
        box = self.inbox(chat)
        start = self._seen.get(key, 0)
        self._seen[key] = len(box)
        return box[start:]

    def clear(self) -> None:
        """Mark everything sent so far as seen."""
        for sent in self.fake.sent:
            for recipient in sent.recipients:
                self.new_for(recipient)

    async def invite_code(self, defender: SignalUser, label: str = "") -> str:
        """`defender` runs `invite` (plain text) and gets a code, not a link."""
        reply = await self.say(defender, f"invite {label}".strip())
        found = _CODE_LINE.findall("\n".join(reply))
        assert len(found) == 1, reply
        return str(found[0])

    async def link(self, defender: SignalUser, contact: SignalUser) -> None:
        """`defender` invites `contact` by code; `contact` accepts with `accept CODE`."""
        code = await self.invite_code(defender, contact.name)
        answer = await self.say(contact, f"accept {code}")
        assert any(f"trusted contact of {defender.name}" in a for a in answer), answer


@contextlib.asynccontextmanager
async def signal_app(
    db_url: str, clock: FakeClock, fake: FakeSignal, **harness: Any
) -> AsyncIterator[SignalSide]:
    """The app with Signal (on `fake`) started and receiving; stopped on exit."""
    async with Harness(
        db_url, clock, extra_transports={"signal": fast_signal(fake)}, **harness
    ) as h:
        await fake.wait_connected()
        yield SignalSide(h, fake)
