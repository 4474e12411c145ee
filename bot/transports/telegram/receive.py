"""Receiving updates: our own long-polling loop, and the webhook server.

Both keep one promise: an update is acknowledged to Telegram only after
`on_incoming` has returned, i.e. after the app has safely recorded it. For polling
the acknowledgement is the next getUpdates offset; for the webhook it is the 200
answer. A crash in between means Telegram delivers the update again, and the app
drops the duplicate by `Incoming.dedupe_key`.

PTB's Updater is not used: it acknowledges updates as soon as it has queued them,
before any handler ran, and it wants to own the loop.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken

from bot.transports.base import OnIncoming, StoreUnavailable
from bot.transports.telegram.updates import ALLOWED_UPDATES, to_incoming

log = logging.getLogger(__name__)

#: Tries per update before a poison update is skipped so it cannot block everyone.
MAX_TRIES = 5
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with jitter (half to full delay)."""

    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 0)."""
        return min(self.cap, self.base * 2 ** min(attempt, 30)) * random.uniform(0.5, 1.0)


class Receiver:
    """Turns updates into `Incoming`, hands them on, and retries a failing handler."""

    def __init__(self, bot: Bot, on_incoming: OnIncoming, backoff: Backoff) -> None:
        self.bot = bot
        self.on_incoming = on_incoming
        self.backoff = backoff

    async def deliver(self, update: Update) -> None:
        """Hand `update` on, retrying with backoff; give up after MAX_TRIES, logged.

        While the database is away (`StoreUnavailable`) the update is held and
        retried without limit: it is confirmed to Telegram only once recorded.
        """
        attempt = held = 0
        while True:
            try:
                await self.deliver_once(update)
                return
            except asyncio.CancelledError:
                raise
            except StoreUnavailable:
                if held == 0:
                    log.warning(
                        "database unreachable: holding the update",
                        extra={"action": "telegram.update_held", "update_id": update.update_id},
                    )
                await asyncio.sleep(self.backoff.delay(min(held, 5)))
                held += 1
                continue
            except Exception as exc:
                attempt += 1
                log.error(
                    "handling an update failed",
                    extra={
                        "action": "telegram.update_failed",
                        "update_id": update.update_id,
                        "attempt": attempt,
                        "error": type(exc).__name__,
                    },
                )
                if attempt >= MAX_TRIES:
                    break
                await asyncio.sleep(self.backoff.delay(attempt - 1))
        log.error(
            "skipping an update that kept failing",
            extra={"action": "telegram.update_skipped", "update_id": update.update_id},
        )

    async def deliver_once(self, update: Update) -> None:
        """Convert and hand on one update; exceptions propagate."""
        incoming = to_incoming(update, self.bot.username)
        if incoming is not None:
            await self.on_incoming(incoming)


class Poller:
    """The getUpdates loop, run as one task with a strong reference."""

    def __init__(self, receiver: Receiver, poll_timeout: int) -> None:
        self._receiver = receiver
        self._poll_timeout = poll_timeout
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.failing = False  # the last getUpdates failed (health: platform not connected)

    def start(self) -> None:
        """Begin polling in the background."""
        self._task = asyncio.create_task(self._run(), name="telegram-poll")

    async def drain(self, budget: float) -> int:
        """Take in the backlog Telegram kept while the bot was down; returns how many.

        Called before `start()` and before `App.start` starts the ticker: answers
        that arrived during the downtime must be handled before the first tick, or
        a check-in whose deadline passed meanwhile escalates (a false alert, then
        an all-clear) although the defender answered in time. Bounded by `budget`
        seconds; what is left (or a failing getUpdates) is the background loop's.
        """
        taken = 0
        try:
            async with asyncio.timeout(budget):
                while updates := await self._fetch(timeout=0):
                    taken += await self._take(updates)
        except TimeoutError:
            log.warning("backlog not drained in time", extra={"action": "telegram.drain_slow"})
        except Exception as exc:  # network trouble, 5xx: the background loop retries
            _log_poll_error(exc, 0)
        if taken:
            log.info("backlog taken in", extra={"action": "telegram.drained", "updates": taken})
        return taken

    async def _fetch(self, timeout: int) -> tuple[Update, ...]:
        return await self._receiver.bot.get_updates(
            offset=self._offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
        )

    async def _take(self, updates: tuple[Update, ...]) -> int:
        for update in updates:
            await self._receiver.deliver(update)
            # Only now may Telegram forget it: the next getUpdates acknowledges.
            self._offset = update.update_id + 1
        return len(updates)

    async def stop(self) -> None:
        """Cancel the loop and wait for it; an update mid-handling is not acknowledged."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we ourselves are being cancelled: do not swallow it

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self._fetch(timeout=self._poll_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # network trouble, 5xx, conflicts: back off, go on
                self.failing = True
                _log_poll_error(exc, failures)
                await asyncio.sleep(self._receiver.backoff.delay(failures))
                failures += 1
                continue
            failures, self.failing = 0, False
            await self._take(updates)


def _log_poll_error(exc: Exception, failures: int) -> None:
    level = logging.WARNING
    if isinstance(exc, Conflict | InvalidToken) or failures >= MAX_TRIES:
        level = logging.ERROR  # another instance polling, a webhook set, a revoked token
    log.log(
        level,
        "getUpdates failed",
        extra={"action": "telegram.poll_error", "error": type(exc).__name__, "failures": failures},
    )


class WebhookServer:
    """An aiohttp server that receives Telegram's webhook POSTs.

    aiohttp is imported only here, so polling deployments do not need it.
    """

    def __init__(
        self, receiver: Receiver, *, path: str, listen: str, port: int, secret_token: str
    ) -> None:
        self._receiver = receiver
        self._path = path or "/"
        self._listen = listen
        self._port = port
        self._secret = secret_token.encode("utf-8")
        self._runner: Any = None
        self._failures: dict[int, int] = {}  # update_id -> failed tries so far
        self.bound_port = port

    async def start(self) -> None:
        """Listen on listen:port; returns once the socket is bound."""
        from aiohttp import web

        app = web.Application()
        app.router.add_post(self._path, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, self._listen, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.bound_port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Close the server; in-flight requests get a few seconds to finish."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            log.warning(
                "webhook call with a wrong secret", extra={"action": "telegram.webhook_forbidden"}
            )
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self._receiver.bot)
        except Exception as exc:  # not JSON, or not an update
            log.warning(
                "unreadable webhook body",
                extra={"action": "telegram.webhook_bad_body", "error": type(exc).__name__},
            )
            return web.Response(status=400)
        try:
            await self._receiver.deliver_once(update)
        except StoreUnavailable:  # not the update's fault: Telegram redelivers it later
            return web.Response(status=503)
        except Exception as exc:
            return web.Response(status=self._failed(update.update_id, exc))
        self._failures.pop(update.update_id, None)
        return web.Response(status=200)

    def _failed(self, update_id: int, exc: Exception) -> int:
        """500 so Telegram redelivers; 200 once an update has failed MAX_TRIES times."""
        tries = self._failures.pop(update_id, 0) + 1
        log.error(
            "handling a webhook update failed",
            extra={
                "action": "telegram.update_failed",
                "update_id": update_id,
                "attempt": tries,
                "error": type(exc).__name__,
            },
        )
        if tries >= MAX_TRIES:  # a poison update must not be redelivered forever
            log.error(
                "skipping an update that kept failing",
                extra={"action": "telegram.update_skipped", "update_id": update_id},
            )
            return 200
        if len(self._failures) >= 1000:  # bounded memory: forget the oldest
            del self._failures[next(iter(self._failures))]
        self._failures[update_id] = tries
        return 500
