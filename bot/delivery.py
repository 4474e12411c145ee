"""The outbox worker: claim, send through the right transport, record what happened.

At-least-once and never silent: every claimed message ends `sent`, back in the
queue with a retry time, or `failed` and reported. The error's type decides:
- `RateLimited`: retry after the platform's `retry_after`;
- `TransientDeliveryError` (network, 5xx, time-outs, a platform not running now):
  retry with capped exponential backoff and jitter, for up to `max_age`; an alert
  message is never given up (SPEC: escalation ends only when someone acts), and
  after `checkins.alert_retry_report` of failures the operators are told;
- `ChatMoved`: re-address this and later messages to the new chat id, retry now;
- `PermanentDeliveryError` / `RecipientUnreachable`: fail and report; for an alert,
  the check-in engine counts that recipient as not alerted (`engine.unreachable`);
- `CaptchaRequired` (a rate limit only a person can lift): retry, and tell the
  operators once per challenge with the command that lifts it.
An alert message the platform accepted counts its recipient as reached (`engine.sent`).

An alert, reminder or prompt that fails as unreachable or rate-limited also goes
out once on the person's other linked platform (`bot.failover`); an alert that
found another way does not count its recipient as unreachable, and the copy's
outcome counts for the recipient as first addressed.

Ordering and priority come from the claim (`store.claims.outbox_claim_statement`):
alerts first, and at most one message in flight per chat, oldest first.

A claim is a short lease (`claims.OUTBOX_LEASE`), renewed every third of it for
every message this worker is still sending or recording: a worker that is killed
stops renewing, and its messages go out from another worker within seconds, in
their own place in the queue. `platforms` limits what this process claims to the
platforms it sends for (on PostgreSQL one elected sender per platform, see
`bot.app`, so the platform's rate limits and alerts-first hold across processes).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row

from bot import engine, failover
from bot.core import cleanup as core_cleanup
from bot.core import escalation
from bot.core.lifecycle import Kind
from bot.core.model import MessageKind, Outgoing
from bot.ops.report import OpsEvent, report
from bot.runtime import Runtime
from bot.store import chats, outbox
from bot.store import checkins as checkin_store
from bot.store import cleanup as cleanup_store
from bot.store import users as user_store
from bot.store.claims import OUTBOX_LEASE
from bot.store.db import transaction
from bot.transports.base import (
    CaptchaRequired,
    ChatMoved,
    DeliveryError,
    PermanentDeliveryError,
    RateLimited,
    RecipientUnreachable,
    Transport,
)

log = logging.getLogger(__name__)

#: Seconds between two looks for messages `/cleanup` deletes now.
CLEANUP_EVERY = 10.0
_DELETABLE = frozenset(k.value for k in core_cleanup.DELETED_KINDS)


@dataclass(frozen=True)
class Result:
    """The outcome of one send attempt."""

    row: Row[Any]
    out: Outgoing
    status: str  # sent | retry | failed | moved | withheld
    error: str = ""
    retry_after: float | None = None
    new_chat_id: str | None = None
    captcha: CaptchaRequired | None = None
    unreachable: bool = False  # the platform cannot reach this person (or limits us)
    message_id: str | None = None  # the platform's id of the message sent


def backoff(attempts: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Seconds before retry number `attempts`: exponential, capped, with ±20% jitter."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)


class Delivery:
    """Drains the outbox through the transports."""

    def __init__(
        self,
        rt: Runtime,
        transports: Mapping[str, Transport],
        *,
        concurrency: int = 64,
        max_age: timedelta = timedelta(hours=24),
        idle_poll: float = 0.5,
        lease: timedelta = OUTBOX_LEASE,
    ) -> None:
        self._rt = rt
        self._transports = transports
        self._concurrency = concurrency
        self._max_age = max_age
        self._idle_poll = idle_poll
        self._lease = lease
        self._wake = asyncio.Event()
        self._stopping = False
        #: sent to a person, not yet looked at for `/cleanup` (`_note_for_cleanup`)
        self._sent_log: list[tuple[int, str, str, str, str, datetime]] = []
        #: claimed silent-alert posts to group chats: outbox id → (alert kind, defender id)
        self._guards: dict[int, tuple[str, str]] = {}
        self._held: set[int] = set()  # claimed by us, not yet recorded: leases to renew
        #: Platforms this process may claim messages for; None: every platform.
        self.platforms: frozenset[str] | None = None

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run_once(self, now: datetime | None = None) -> int:
        """Send everything sendable now, batch by batch (tests, bursts); returns how many tried."""
        total = 0
        while True:
            while rows := await self._claim(self._concurrency, now):
                results = await asyncio.gather(*(self._send(row) for row in rows))
                await self._record(list(results), now)
                total += len(rows)
            # commands kept until their sender's alert was out may queue more
            if not await self._rt.run_deferred(now):
                await self.run_cleanup(now)
                return total

    def request_stop(self) -> None:
        """Stop claiming; `run` records what is in flight and returns."""
        self._stopping = True
        self._wake.set()

    async def run(self, drain_timeout: float = 5.0) -> None:
        """Deliver until stopped: a sliding window of sends, results recorded in batches.

        After `request_stop`, sends already on the wire get `drain_timeout` seconds to
        finish and be recorded, so a clean stop does not send them twice after restart.
        """
        inflight: set[asyncio.Task[Result]] = set()
        self._stopping = False
        next_cleanup = time.monotonic()
        renewing = asyncio.create_task(self._renew_leases(), name="outbox-lease-renewal")
        try:
            while not self._stopping:
                free = self._concurrency - len(inflight)
                for row in await self._claim(free) if free > 0 else ():
                    inflight.add(asyncio.create_task(self._send(row), name=f"send-{row.id}"))
                self._wake.clear()
                waiter = asyncio.create_task(self._wake.wait())
                try:
                    done, _ = await asyncio.wait(
                        {*inflight, waiter},
                        timeout=self._idle_poll,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    waiter.cancel()
                finished = [cast("asyncio.Task[Result]", t) for t in done if t is not waiter]
                inflight.difference_update(finished)
                if finished:
                    await self._record_or_wait([task.result() for task in finished])
                if time.monotonic() >= next_cleanup:
                    # commands kept while an alert was open are carried out by the
                    # scheduler's tick (`due.run_once`); deletions for `/cleanup` here
                    next_cleanup = time.monotonic() + CLEANUP_EVERY
                    await self._cleanup()
            if inflight:
                drained, inflight = await asyncio.wait(inflight, timeout=drain_timeout)
                if drained:
                    await self._record_or_wait([task.result() for task in drained])
        finally:
            renewing.cancel()
            for task in inflight:
                task.cancel()  # their rows' leases expire and they are sent again
            self._held.clear()

    async def _renew_leases(self) -> None:
        """Every third of the lease, extend the leases of the messages we still hold.

        If the database is away the leases may run out: another worker may then send
        those messages too, so duplicates stay bounded by the messages in flight.
        """
        every = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            held = sorted(self._held)
            if not held:
                continue
            try:
                async with transaction(self._rt.sessions) as session:
                    await outbox.renew(
                        session, held, self._rt.worker_id, self._rt.clock.now() + self._lease
                    )
            except Exception:
                log.warning("outbox leases not renewed", extra={"action": "delivery.renew_failed"})

    async def _cleanup(self) -> None:
        try:
            await self.run_cleanup()
        except Exception:
            log.exception("cleanup failed", extra={"action": "delivery.cleanup_failed"})

    async def _record_or_wait(self, results: list[Result]) -> None:
        """Record results, retrying while the database is unreachable.

        Nothing new is claimed (so nothing new is sent) until what was sent is
        recorded: a database outage costs at most the messages already in flight
        as duplicates, and only if their leases ran out meanwhile. On stop the rows
        are left to their leases: they are sent again (at-least-once, never lost).
        """
        delay = self._idle_poll
        while True:
            try:
                await self._record(results)
                return
            except Exception:
                log.exception("recording sends failed", extra={"action": "delivery.record_failed"})
                if self._stopping:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _claim(self, limit: int, now: datetime | None = None) -> list[Row[Any]]:
        if self.platforms is not None and not self.platforms:
            return []  # another process sends for every platform we have
        now = now or self._rt.clock.now()
        try:
            async with transaction(self._rt.sessions) as session:
                rows = await outbox.claim_batch(
                    session,
                    worker=self._rt.worker_id,
                    now=now,
                    limit=limit,
                    lease=self._lease,
                    platforms=self.platforms,
                )
                # Sent in claim order: a reply to an answer before the alerts it raised.
                rows = sorted(rows, key=lambda r: (r.priority, r.id))
                silent = [k.value for k in escalation.SILENT_KINDS]
                self._guards.update(await checkin_store.silent_chat_guards(session, rows, silent))
        except Exception:
            log.exception("outbox claim failed", extra={"action": "delivery.claim_failed"})
            await asyncio.sleep(self._idle_poll)
            return []
        self._held.update(row.id for row in rows)
        return list(rows)

    async def _send(self, row: Row[Any]) -> Result:
        out = outbox.decode(row.platform, row.chat_id, row.payload)
        transport = self._transports.get(row.platform)
        if transport is None:
            return Result(row, out, "retry", f"no transport for {row.platform} is running")
        try:
            guard = self._guards.pop(row.id, None)
            if guard is not None and not await self._may_post(transport, row, *guard):
                return Result(row, out, "withheld", "withheld: the defender may be in this chat")
            delivered = await transport.send(out)
        except RateLimited as exc:
            captcha = exc if isinstance(exc, CaptchaRequired) else None
            return Result(
                row, out, "retry", str(exc), exc.retry_after, captcha=captcha, unreachable=True
            )
        except ChatMoved as exc:
            return Result(row, out, "moved", str(exc), new_chat_id=exc.new_chat_id)
        except RecipientUnreachable as exc:
            return Result(row, out, "failed", f"{type(exc).__name__}: {exc}", unreachable=True)
        except PermanentDeliveryError as exc:
            return Result(row, out, "failed", f"{type(exc).__name__}: {exc}")
        except DeliveryError as exc:
            return Result(row, out, "retry", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a transport bug must not lose the message
            log.exception("transport raised", extra={"action": "delivery.transport_bug"})
            return Result(row, out, "retry", f"unexpected {type(exc).__name__}")
        return Result(row, out, "sent", message_id=getattr(delivered, "message_id", None))

    async def _may_post(
        self, transport: Transport, row: Row[Any], kind: str, defender: str
    ) -> bool:
        """Whether a silent alert may be posted to this group chat (`core.posts_to_chat`).

        The platform is asked now whether the defender is in the chat; a platform that
        cannot say counts them in. A defender with no identity on that platform is
        not in any of its chats as far as anyone can know. A network failure while
        asking raises, so the message is retried, never posted unchecked.
        """
        member: bool | None = False
        if defender == checkin_store.UNKNOWN_PERSON:
            member = None
        elif defender:
            ask = getattr(transport, "is_member", None)
            member = await ask(row.chat_id, defender) if ask is not None else None
        return escalation.posts_to_chat(Kind(kind), member)

    def _note_for_cleanup(self, results: list[Result], now: datetime) -> None:
        """Keep (in memory) what was sent to a person, for `/cleanup` to look at later.

        Off the sending path: `_flush_cleanup` asks the database who chose cleanup, a
        few times a minute. A crash forgets at most that much (those messages stay).
        """
        for r in results:
            row = r.row
            if r.status == "sent" and r.message_id and row.user_id and row.kind in _DELETABLE:
                if len(self._sent_log) < 10_000:
                    self._sent_log.append(
                        (row.user_id, row.platform, row.chat_id, r.message_id, row.kind, now)
                    )

    async def _flush_cleanup(self) -> None:
        """Turn the messages noted as sent into deletions, for people who chose cleanup."""
        noted, self._sent_log = self._sent_log, []
        if not noted:
            return
        async with transaction(self._rt.sessions) as session:
            after = await cleanup_store.after_of(session, {n[0] for n in noted})
            if not after:
                return
            own = await user_store.private_chats(session, after)
            items = [
                {"user_id": uid, "platform": platform, "chat_id": chat, "message_id": mid,
                 "seconds": None, "due_at": at + timedelta(seconds=after[uid])}
                for uid, platform, chat, mid, kind, at in noted
                if uid in after and core_cleanup.deletes(kind, (platform, chat) in own)
            ]  # fmt: skip
            await cleanup_store.remember(session, items)

    async def run_cleanup(self, now: datetime | None = None) -> int:
        """Delete the messages (or set the chat timers) `/cleanup` asked for; returns how many.

        Read in one transaction, done on the platforms, recorded in another: a message
        the platform refuses for good (too old, already gone) is dropped; one it could
        not be asked about now is tried again in five minutes.
        """
        await self._flush_cleanup()
        now = now or self._rt.clock.now()
        async with transaction(self._rt.sessions) as session:
            items = [(i.id, i.platform, i.chat_id, i.message_id, i.seconds)
                     for i in await cleanup_store.due(session, now)]  # fmt: skip
        if not items:
            return 0
        finished: list[int] = []
        retry: list[int] = []
        for item_id, platform, chat_id, message_id, seconds in items:
            transport = self._transports.get(platform)
            if transport is None:  # not running here now: later
                retry.append(item_id)
                continue
            try:
                if message_id is not None:
                    delete = getattr(transport, "delete_message", None)
                    if delete is not None:
                        await delete(chat_id, message_id)
                else:
                    expire = getattr(transport, "set_disappearing", None)
                    if expire is not None:
                        await expire(chat_id, seconds or 0)
                finished.append(item_id)
            except DeliveryError:
                retry.append(item_id)
        async with transaction(self._rt.sessions) as session:
            await cleanup_store.done(session, finished)
            await cleanup_store.later(session, retry, now + timedelta(minutes=5))
        return len(finished)

    async def _report_slow_alert(self, session: Any, row: Row[Any], now: datetime) -> None:
        """An alert message failing longer than `checkins.alert_retry_report`: tell operators.

        Sending goes on; the report is made once per message (its dedupe key).
        """
        if row.kind != MessageKind.ALERT:
            return
        failing = now - row.created_at
        if failing < self._rt.settings.checkins.alert_retry_report:
            return
        await report(
            session, self._rt.settings, OpsEvent.ALERT_SEND_FAILING, now,
            dedupe=f"outbox:{row.id}", alert_id=row.alert_id or 0, count=1,
            minutes=int(failing.total_seconds() // 60),
        )  # fmt: skip

    async def _record(self, results: list[Result], now: datetime | None = None) -> None:
        now = now or self._rt.clock.now()
        worker = self._rt.worker_id
        async with transaction(self._rt.sessions) as session:
            sent = [r.row.id for r in results if r.status == "sent"]
            await outbox.mark_sent_many(session, sent, worker, now)  # one statement per batch
            await engine.sent(
                session,
                [(r.row.alert_id, *await failover.first_address(session, r.row))
                 for r in results if r.status == "sent" and r.row.alert_id is not None],
            )  # fmt: skip
            await engine.delivered(  # the answer clock starts when the defender can see it
                session,
                [(r.row.checkin_id, r.row.kind == MessageKind.REMINDER) for r in results
                 if r.status == "sent" and r.row.checkin_id is not None],
                now,
            )  # fmt: skip
            for r in results:
                row = r.row
                found_another_way = False
                if r.captcha is not None:
                    await report(
                        session,
                        self._rt.settings,
                        OpsEvent.SIGNAL_CAPTCHA,
                        now,
                        dedupe=r.captcha.token,
                        command=r.captcha.command,
                    )
                if r.unreachable:
                    found_another_way = bool(
                        await failover.fail_over(session, row, r.out, now, self._transports)
                    )
                if r.status == "withheld":
                    await outbox.mark_failed(session, row.id, worker, r.error)
                    await checkin_store.set_recipient_status(
                        session, row.alert_id or 0, row.platform, row.chat_id,
                        checkin_store.WITHHELD,
                    )  # fmt: skip
                    log.debug("silent alert not posted to a chat", extra={
                        "action": "delivery.withheld", "outbox_id": row.id})  # fmt: skip
                elif r.status == "sent":
                    if r.out.choices and row.platform in self._rt.numbered_platforms:
                        await chats.remember_choices(session, r.out, now)
                elif r.status == "moved" and r.new_chat_id:
                    await outbox.readdress(
                        session, row.id, worker, row.platform, row.chat_id, r.new_chat_id
                    )
                    await chats.chat_moved(session, row.platform, row.chat_id, r.new_chat_id)
                elif r.status == "retry" and (
                    row.kind == MessageKind.ALERT or now - row.created_at < self._max_age
                ):
                    delay = r.retry_after if r.retry_after is not None else backoff(row.attempts)
                    await self._report_slow_alert(session, row, now)
                    await outbox.mark_retry(
                        session, row.id, worker, now + timedelta(seconds=delay), r.error
                    )
                    log.warning(
                        "send will be retried",
                        extra={
                            "action": "delivery.retry",
                            "outbox_id": row.id,
                            "attempts": row.attempts,
                        },
                    )
                else:
                    await outbox.mark_failed(session, row.id, worker, r.error or "gave up")
                    log.error(
                        "message could not be delivered",
                        extra={"action": "delivery.failed", "outbox_id": row.id, "kind": row.kind},
                    )
                    if row.alert_id is not None and not found_another_way:
                        platform, chat_id = await failover.first_address(session, row)
                        await engine.unreachable(
                            session, self._rt.settings, row.alert_id, platform, chat_id, now
                        )
            touched = [r.row.alert_id for r in results if r.row.alert_id is not None]
            settled = bool(touched) and bool(await engine.settle(session, touched, now))
        self._held.difference_update(r.row.id for r in results)
        self._note_for_cleanup(results, now)
        for r in results:
            self._rt.on_outcome(r.row.platform, r.status)
        if settled or any(r.status in ("moved", "failed") for r in results):
            self.wake()
