"""The receive websocket to signal-cli-rest-api, kept open for as long as the bot runs.

signal-cli-rest-api (json-rpc mode) drops every message that arrives while no
client is connected to `/v1/receive/<number>`. So this module watches the
connection itself instead of trusting a library to notice: when the socket ends,
cleanly (a close frame) or abruptly (a reset, a dead peer found by the heartbeat),
it reconnects within `reconnect_min` seconds, then with capped exponential
backoff and jitter while the service stays away; it logs a long outage once at
ERROR (action "signal.disconnected") and logs the recovery.

The socket is read by one task and frames are handled by another, through a queue:
signal-cli-rest-api applies no backpressure. Its JSON-RPC reader hands each
notification to each websocket goroutine with a non-blocking send on an unbuffered
channel (`jsonrpc2.go`: `select { case c <- resp1: … default: log.Debug("Couldn't
send message to golang channel, as there's no receiver") }`), and that goroutine is
not listening while it writes the previous frame (`api.go` `handleSignalReceive`:
`ws.WriteMessage`), which blocks when this client stops reading. A message that
arrives then is dropped after signal-cli has acknowledged it to Signal: lost for
good. So the reader never waits for the app; it only waits when `queue_size`
frames are already queued. The loss window that remains (a message arriving while
the previous one is being written, or while no client is connected) is in
docs/threat-model.md.

signalbot 2.2 is not used for this loop: its `MessagesClient.receive()` hides the
handshake (so nobody can tell when it is connected), and after a clean close its
generator simply ends, `_produce` returns and `rerun_on_exception` returns with it,
so a `SignalBot` stops receiving for good without a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

import aiohttp

from bot.transports.signal.service import describe

log = logging.getLogger(__name__)

#: What a failed connection attempt may raise.
CONNECT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError, TimeoutError)

FrameHandler = Callable[[str], Awaitable[None]]


class Receiver:
    """One supervised websocket: connect, queue frames for a handler, reconnect.

    The handler is awaited frame by frame, in order, in its own task, and must not
    raise; the socket keeps being read while it runs (see the module docstring).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        handler: FrameHandler,
        *,
        reconnect_min: float,
        reconnect_max: float,
        long_disconnect: float,
        heartbeat: float,
        queue_size: int = 10_000,
    ) -> None:
        self._session = session
        self._url = url
        self._handler = handler
        self._min = reconnect_min
        self._max = reconnect_max
        self._long = long_disconnect
        self._heartbeat = heartbeat
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._frames: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self._closing = False
        self._streak = 0  # reconnect attempts since the last stable connection

    @property
    def connected(self) -> bool:
        """True while the websocket is open."""
        return self._ws is not None and not self._ws.closed

    @property
    def backlog(self) -> int:
        """Frames read off the socket and not yet handed to the handler."""
        return self._frames.qsize()

    async def open(self) -> None:
        """Connect once, then keep receiving in a background task.

        Raises:
            aiohttp.ClientError, OSError, TimeoutError: the first connection failed.
        """
        self._ws = await self._connect()
        self._task = asyncio.create_task(self._run(), name="holdfast-signal-receive")
        self._task.add_done_callback(_report_exit)
        self._consumer = asyncio.create_task(self._consume(), name="holdfast-signal-frames")
        self._consumer.add_done_callback(_report_exit)

    async def close(self, grace: float) -> None:
        """Stop reading, let the frames already read be handled (up to `grace` s), then cancel."""
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._frames.join(), grace)
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
            if left := self._frames.qsize():
                log.error(
                    "%d Signal messages were received but not handled before stopping",
                    left,
                    extra={"action": "signal.unhandled_at_stop", "count": left},
                )
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        return await self._session.ws_connect(self._url, heartbeat=self._heartbeat)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            ws = self._ws
            assert ws is not None
            opened = loop.time()
            try:
                reason = await self._pump(ws)
            except Exception as exc:  # a bug in a handler: reconnect (with backoff) beats dying
                reason = f"failure: {type(exc).__name__}"
                log.debug("Signal receive failure", exc_info=True)
            self._ws = None
            await ws.close()
            lost_at = loop.time()
            if lost_at - opened >= self._max:
                self._streak = 0
            log.warning(
                "Signal receive connection lost (%s); reconnecting",
                reason,
                extra={"action": "signal.connection_lost"},
            )
            self._ws = await self._reconnect(lost_at)

    async def _consume(self) -> None:
        """Hand queued frames to the handler, one at a time, in order."""
        while True:
            raw = await self._frames.get()
            try:
                await self._handler(raw)
            except Exception:  # the handler must not raise; a bug must not stop the others
                log.error("a Signal frame handler failed", extra={"action": "signal.frame_failed"})
                log.debug("frame handler failure", exc_info=True)
            finally:
                self._frames.task_done()

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        """Queue frames for the handler until the socket ends; say how it ended."""
        try:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    if self._closing:
                        return "stopping"
                    await self._frames.put(message.data)
                elif message.type is aiohttp.WSMsgType.ERROR:
                    return f"error: {describe(ws.exception() or RuntimeError())}"
        except CONNECT_ERRORS as exc:
            return f"error: {describe(exc)}"
        return f"closed, code {ws.close_code}"

    async def _reconnect(self, lost_at: float) -> aiohttp.ClientWebSocketResponse:
        loop = asyncio.get_running_loop()
        attempt = self._streak
        alerted = False
        while True:
            await asyncio.sleep(self._delay(attempt))
            attempt += 1
            try:
                ws = await self._connect()
            except CONNECT_ERRORS as exc:
                down = loop.time() - lost_at
                log.debug(
                    "Signal reconnect attempt failed (%s)",
                    describe(exc),
                    extra={"action": "signal.reconnect_failed", "attempt": attempt},
                )
                if not alerted and down >= self._long:
                    alerted = True
                    _log_long_outage(down)
                continue
            self._streak = attempt
            _log_recovery(loop.time() - lost_at, attempt, alerted)
            return ws

    def _delay(self, attempt: int) -> float:
        """Capped exponential backoff with jitter (between half and all of the step)."""
        step = min(self._max, self._min * 2.0 ** min(attempt, 30))
        return step * random.uniform(0.5, 1.0)


def _log_long_outage(down: float) -> None:
    log.error(
        "Signal receive connection down for %.0fs: signal-cli-rest-api drops messages "
        "sent to the bot while no client is connected",
        down,
        extra={"action": "signal.disconnected", "down_seconds": round(down, 1)},
    )


def _log_recovery(down: float, attempts: int, after_alert: bool) -> None:
    log.log(
        logging.WARNING if after_alert else logging.INFO,
        "Signal receive connection restored after %.1fs (%d attempts)",
        down,
        attempts,
        extra={"action": "signal.reconnected", "down_seconds": round(down, 1)},
    )


def _report_exit(task: asyncio.Task[None]) -> None:
    """The receive task only ends by cancellation; anything else is a bug to shout about."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error(
            "Signal receive loop crashed (%s); no Signal messages are received",
            type(exc).__name__,
            exc_info=exc,
            extra={"action": "signal.receive_crashed"},
        )
