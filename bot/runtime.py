"""What handlers, the scheduler and delivery share at run time, passed explicitly.

No global service locator: the app builds one `Runtime` and hands it to each part.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings


async def _nothing_deferred(now: datetime | None = None) -> int:
    return 0


def new_worker_id() -> str:
    """A name for this process in `claimed_by` columns (host, pid-unique suffix)."""
    return f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:8]}"


@dataclass
class Runtime:
    """Shared dependencies of one running bot.

    Attributes:
        settings: the validated configuration.
        sessions: the session factory (the database is the truth).
        clock: the time source (fake in tests).
        worker_id: this process's name in claims and leases.
        deep_links: per platform, how to turn an invite code into a link (None: no links).
        numbered_platforms: platforms without buttons (choices are numbered).
        on_queued: called after a transaction queued messages, to wake delivery.
        on_outcome: called with (platform, outcome) after each send is recorded (metrics).
        run_deferred: carries out commands kept while their sender's alert was open
            (`Router.run_deferred`); every scheduler tick calls it, and
            `Delivery.run_once` once the outbox is drained.
    """

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    worker_id: str = field(default_factory=new_worker_id)
    deep_links: dict[str, Callable[[str], str | None]] = field(default_factory=dict)
    numbered_platforms: frozenset[str] = frozenset()
    on_queued: Callable[[], None] = lambda: None
    on_outcome: Callable[[str, str], None] = lambda platform, outcome: None
    run_deferred: Callable[[datetime | None], Awaitable[int]] = field(default=_nothing_deferred)

    def link_for(self, platform: str, code: str) -> str | None:
        """A deep link for an invite code on this platform, if it has links."""
        make = self.deep_links.get(platform)
        return make(code) if make else None
