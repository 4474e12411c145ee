"""Send pacing: keep the bot inside Telegram's flood limits instead of provoking 429s.

Telegram allows about 30 messages a second per bot, one a second per chat and 20 a
minute per group. Going over earns a 429 with `retry_after`, which holds up every
chat, so the transport waits for a slot before each call; nothing is dropped.

A send counts from when its slot is granted until `window` after its response
arrived (in flight, it always counts). Telegram saw the request somewhere between
those two moments, so however late our task or the network ran, the server never
sees more than the limit in any window. The cost is one round-trip per window.

Slots are granted by priority (`bot.core.model.PRIORITY`): when a thousand prompts
are queued, an alert still gets the next free slot instead of waiting ~33 seconds
behind them. All waiting uses a monotonic clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.transports.base import TransientDeliveryError

log = logging.getLogger(__name__)

#: Forget idle per-chat state once this many chats are tracked.
_PRUNE_AT = 4096


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's flood limits, as the pacer honours them.

    Attributes:
        global_per_second: messages per rolling second, all chats together.
        per_chat_interval: minimum seconds between two messages to one chat.
        group_per_minute: messages per rolling `group_window` to one group chat
            (Telegram group ids are negative).
        group_window: the group window in seconds (60; tests use less).
        margin: seconds added to every window, for the difference between our
            clock and Telegram's.
    """

    global_per_second: int = 30
    per_chat_interval: float = 1.0
    group_per_minute: int = 20
    group_window: float = 60.0
    margin: float = 0.01

    def __post_init__(self) -> None:
        if self.global_per_second < 1 or self.group_per_minute < 1:
            raise ValueError("Limits: message counts must be at least 1")
        if min(self.per_chat_interval, self.group_window, self.margin) < 0:
            raise ValueError("Limits: intervals must not be negative")


@dataclass(slots=True)
class _Grant:
    """One global slot; `done_at` stays infinite while the call is in flight."""

    done_at: float = math.inf


@dataclass(slots=True)
class _ChatState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last: float = -math.inf
    recent: deque[float] = field(default_factory=deque)


class Pacer:
    """Grants send slots within `Limits`; safe to use from many tasks at once.

    Per chat, callers are serialised by a lock held for the whole call, so the
    one-a-second rule holds even if two tasks send to one chat. The global window
    is served by one short-lived pump task that hands out slots best priority
    first, then first come.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._grants: list[_Grant] = []
        self._waiting: list[tuple[int, int, asyncio.Future[_Grant]]] = []
        self._seq = itertools.count()
        self._pump: asyncio.Task[None] | None = None
        self._completed = asyncio.Event()
        self._chats: dict[str, _ChatState] = {}
        self._hold_until = -math.inf
        self._closed = False

    def hold(self, seconds: float) -> None:
        """Hold every send for `seconds` (Telegram's 429 applies to the whole bot)."""
        self._hold_until = max(self._hold_until, self._clock() + seconds)

    async def wait_hold(self) -> None:
        """Wait out a 429 hold, for calls that need no slot (answering a button)."""
        while (delay := self._hold_until - self._clock()) > 0:
            await asyncio.sleep(delay)

    @asynccontextmanager
    async def slot(self, chat_id: str, priority: int = 0) -> AsyncIterator[None]:
        """Make one call to `chat_id` inside this block, once the limits allow it."""
        state = self._chat(chat_id)
        async with state.lock:
            await self._sleep_until(self._chat_ready(chat_id, state))
            grant = await self._global_slot(priority)
            try:
                yield
            finally:
                now = self._clock()
                grant.done_at = state.last = now
                if _is_group(chat_id):
                    state.recent.append(now)
                self._completed.set()

    async def close(self) -> None:
        """Stop the pump; queued senders get a TransientDeliveryError (retried later).

        They get an error rather than a cancellation: their own task was not
        cancelled, and the outbox must see a failed send, not a cancelled worker.
        """
        self._closed = True
        pump, self._pump = self._pump, None
        self._fail_waiting()
        if pump is not None and not pump.done():
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    def _fail_waiting(self) -> None:
        for _, _, fut in self._waiting:
            if not fut.done():
                fut.set_exception(TransientDeliveryError("the Telegram transport was stopped"))
        self._waiting.clear()

    def _chat(self, chat_id: str) -> _ChatState:
        if len(self._chats) >= _PRUNE_AT:
            self._prune()
        return self._chats.setdefault(chat_id, _ChatState())

    def _prune(self) -> None:
        horizon = self._clock() - max(self.limits.per_chat_interval, self.limits.group_window)
        idle = [
            key
            for key, state in self._chats.items()
            if not state.lock.locked() and state.last < horizon
        ]
        for key in idle:
            del self._chats[key]

    def _chat_ready(self, chat_id: str, state: _ChatState) -> float:
        lim = self.limits
        ready = state.last + lim.per_chat_interval + lim.margin
        if _is_group(chat_id):
            window = lim.group_window + lim.margin
            while state.recent and state.recent[0] <= self._clock() - window:
                state.recent.popleft()
            if len(state.recent) >= lim.group_per_minute:
                ready = max(ready, state.recent[-lim.group_per_minute] + window)
        return ready

    async def _global_slot(self, priority: int) -> _Grant:
        if self._closed:
            raise TransientDeliveryError("the Telegram transport was stopped")
        fut: asyncio.Future[_Grant] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._seq), fut))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run_pump(), name="telegram-pacer")
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # granted, but we will not use it
                fut.result().done_at = self._clock()
                self._completed.set()
            raise

    async def _run_pump(self) -> None:
        """Hand out global slots until nobody waits, then end (no idle task lingers)."""
        try:
            while self._waiting:
                ready = self._global_ready()
                if ready is None:  # every counted slot is in flight: wait for one
                    self._completed.clear()
                    await self._completed.wait()
                    continue
                ready = max(ready, self._hold_until)
                if ready > self._clock():
                    await self._sleep_until(ready)
                    continue
                _, _, fut = heapq.heappop(self._waiting)
                if not fut.done():  # done: its sender was cancelled meanwhile
                    grant = _Grant()
                    self._grants.append(grant)
                    fut.set_result(grant)
        except Exception:  # a bug here must not leave every sender waiting forever
            log.exception("pacer failed", extra={"action": "telegram.pacer_failed"})
            self._fail_waiting()

    def _global_ready(self) -> float | None:
        """When the next global slot frees up; None if that waits on calls in flight."""
        window = 1.0 + self.limits.margin
        now = self._clock()
        self._grants = [g for g in self._grants if g.done_at > now - window]
        excess = len(self._grants) - self.limits.global_per_second
        if excess < 0:
            return now
        finished = sorted(g.done_at for g in self._grants if g.done_at < math.inf)
        if excess >= len(finished):
            return None
        return finished[excess] + window

    async def _sleep_until(self, deadline: float) -> None:
        delay = deadline - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)


def _is_group(chat_id: str) -> bool:
    """Telegram group and supergroup ids are negative; users' ids are positive."""
    return chat_id.startswith("-")
