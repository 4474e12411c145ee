"""The whole bot in-process with a fake clock: type as people, read what each receives.

`Harness` runs the real app (router, handlers, scheduler `run_once`, outbox and
delivery) over the console transport, with ticks and deliveries driven by the test,
so "missed after 45 minutes" runs in milliseconds and nothing sleeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.app import App
from bot.config import (
    CheckinSettings,
    DatabaseSettings,
    OpsSettings,
    SecuritySettings,
    Settings,
)
from bot.scheduler import due
from bot.store.migrate import upgrade
from bot.transports.base import Transport, render_numbered
from bot.transports.console import ConsoleTransport
from tests.support.clock import FakeClock

#: The key test databases are sealed with (there is no plaintext mode).
TEST_KEY = "pX3v_9Lq-Tz7wKb2Rm4YcN8dHs6Fj1Ue5Ga0Vo-Wi_Qt"


def make_settings(db_url: str, **checkins: Any) -> Settings:
    """Default settings on a test database, with check-in policy overrides."""
    keys = ("secret_key", "retention", "invite_ttl")
    security = {"secret_key": TEST_KEY} | {k: checkins.pop(k) for k in keys if k in checkins}
    return Settings(
        database=DatabaseSettings(url=db_url),
        checkins=dataclasses.replace(CheckinSettings(), **checkins),
        security=dataclasses.replace(SecuritySettings(), **security),
        ops=OpsSettings(listen=""),  # tests that want the ops endpoint ask for a port
    )


class Harness:
    """One app lifetime. Use as `async with Harness(db_url, clock) as h:`."""

    def __init__(
        self,
        db_url: str,
        clock: FakeClock,
        *,
        settings: Settings | None = None,
        extra_transports: Mapping[str, Transport] | None = None,
        ops_endpoint: bool = False,
        **checkins: Any,
    ) -> None:
        self.clock = clock
        self.settings = settings or make_settings(db_url, **checkins)
        self.console = ConsoleTransport(read_stdin=False, output=_Null())
        transports: dict[str, Transport] = {"console": self.console, **(extra_transports or {})}
        self.app = App(
            self.settings,
            transports=transports,
            clock=clock,
            background=False,
            ops_endpoint=ops_endpoint,
        )
        self._seen: dict[str, int] = {}

    async def __aenter__(self) -> Harness:
        # `holdfast run` migrates SQLite itself but refuses an old PostgreSQL schema;
        # tests stand in for the operator's `holdfast migrate`.
        await upgrade(self.app.engine)
        try:
            await self.app.start()
        except BaseException:
            await self.app.stop()  # a refused start (e.g. the wrong key) closes the database
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.stop()

    # -- acting ---------------------------------------------------------------------

    async def say(self, who: str, text: str, **flags: Any) -> list[str]:
        """`who` sends `text` in their private chat; returns what they got back."""
        self.console.user, self.console.group = who, None
        await self.console.feed(text, **flags)
        await self.deliver()
        return self.new_for(who)

    async def say_in_group(self, who: str, group_chat: str, text: str) -> None:
        """`who` sends `text` inside a group chat."""
        self.console.user, self.console.group = who, group_chat
        await self.console.feed(text)
        await self.deliver()

    async def deliver(self) -> int:
        """Send everything the outbox holds now."""
        return await self.app.delivery.run_once(self.clock.now())

    async def tick(self) -> due.TickReport:
        """One scheduler tick at the current fake time, then delivery."""
        report = await due.run_once(self.app.rt, self.clock.now())
        await self.deliver()
        return report

    async def advance(self, delta: timedelta | None = None, **kw: float) -> due.TickReport:
        """Move the clock and tick once."""
        self.clock.advance(delta or timedelta(**kw))
        return await self.tick()

    async def run_until(self, when: datetime, step: timedelta = timedelta(minutes=1)) -> None:
        """Tick every `step` until `when` (like the real ticker, coarser)."""
        while self.clock.now() + step <= when:
            await self.advance(step)
        if self.clock.now() < when:
            self.clock.set(when)
            await self.tick()

    # -- reading --------------------------------------------------------------------

    def inbox(self, who: str) -> list[str]:
        """Everything `who` (or group chat "#name") received, rendered as shown."""
        return [render_numbered(o) for o in self.console.sent if o.to.chat_id == who]

    def new_for(self, who: str) -> list[str]:
        """What `who` received since the last call."""
        box = self.inbox(who)
        start = self._seen.get(who, 0)
        self._seen[who] = len(box)
        return box[start:]

    def clear(self) -> None:
        """Mark everything received so far as seen, for everyone."""
        for who in {o.to.chat_id for o in self.console.sent}:
            self.new_for(who)


class _Null:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass


async def contact_link(h: Harness, defender: str, contact: str) -> None:
    """`defender` invites `contact`, who accepts (console invites are codes)."""
    reply = await h.say(defender, "/invite")
    code = next(line.split()[-1] for line in reply[-1].splitlines() if line.startswith("accept "))
    answer = await h.say(contact, f"accept {code}")
    assert any("trusted contact of" in a for a in answer), answer


def has(messages: list[str], fragment: str) -> bool:
    """True if any message contains `fragment`."""
    return any(fragment in m for m in messages)


async def until(h: Harness, when: datetime) -> None:
    """Tick every 15 minutes up to `when` (for stories whose due times are on the quarter)."""
    await h.run_until(when, step=timedelta(minutes=15))
