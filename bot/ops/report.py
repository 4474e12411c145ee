"""Telling the operators: one call queues a report to every operator chat and logs it.

`report` is called where the bot learns something an operator must act on (nobody
reachable for an alert, a Signal captcha, an outage found at start-up …). It works
in the caller's transaction, like `outbox.enqueue`: the report commits with the
state change that caused it, or not at all. A dedupe key makes a retried call (or
the same event seen by several workers) tell the operators once.

Facts are ids, counts, durations and commands: never a name, a message or a phone
number, since they are logged as well as sent. The catalog text of each event
(`bot/i18n/en/ops.toml`) names the facts it shows:

| event | facts |
| --- | --- |
| ALERT_UNREACHABLE | alert_id, checkin_id |
| ALERT_SEND_FAILING | alert_id, count, minutes |
| PROMPT_UNDELIVERABLE | checkin_id, platform |
| SIGNAL_CAPTCHA | command |
| DATABASE_DOWN | seconds, since |
| DATABASE_AWAY | seconds, since (told while it lasts, see `bot.ops.health`) |
| LEADER_CHANGED | platform, holder |
| OUTAGE_DETECTED | since, until, count |

A fact the caller did not give shows as "?", so a missing fact never loses a report.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.core.model import Address, MessageKind, Outgoing
from bot.i18n import t
from bot.store import ops as ops_store
from bot.store import outbox

log = logging.getLogger(__name__)


class OpsEvent(enum.StrEnum):
    """Something the operators must be told about; the value names its catalog text."""

    ALERT_UNREACHABLE = "alert_unreachable"
    ALERT_SEND_FAILING = "alert_send_failing"
    PROMPT_UNDELIVERABLE = "prompt_undeliverable"
    SIGNAL_CAPTCHA = "signal_captcha"
    DATABASE_DOWN = "database_down"
    DATABASE_AWAY = "database_away"
    LEADER_CHANGED = "leader_changed"
    OUTAGE_DETECTED = "outage_detected"


#: Reports that mean alerts may not be reaching people are logged at ERROR, the rest WARNING.
_WARNING_ONLY = frozenset({OpsEvent.LEADER_CHANGED, OpsEvent.PROMPT_UNDELIVERABLE})


_RECORD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "action", "operators"}


def operator_addresses(settings: Settings) -> list[Address]:
    """The operator chats of `ops.operator_chats` ("platform:chat_id", validated at load)."""
    found = []
    for chat in settings.ops.operator_chats:
        platform, _, chat_id = chat.partition(":")
        found.append(Address(platform, chat_id.strip()))
    return found


def render(event: OpsEvent, facts: dict[str, int | str]) -> str:
    """The operator's text for `event`, with "?" for any fact not given."""
    return t(f"ops.{event.value}").format_map(_Facts(facts))


async def report(
    session: AsyncSession,
    settings: Settings,
    event: OpsEvent,
    now: datetime,
    *,
    dedupe: str,
    told: Collection[Address] = (),
    **facts: int | str,
) -> int:
    """Tell the operators about `event` once per `dedupe`; returns messages queued.

    In the caller's transaction: records the report, queues `ops.<event>` at alert
    priority to every operator chat and logs one line (ERROR, or WARNING for events
    that do not put alerts at risk) with `action="ops.<event>"` and the facts. A
    second call with the same `event` and `dedupe` does nothing and returns 0. With
    no operator chat configured the report is only logged. Operator chats in `told`
    were already told directly (the database was away): recorded, not queued again.
    """
    key = _key(f"ops:{event.value}:{dedupe}")
    if not await ops_store.first_report(session, key, event.value, now):
        return 0
    text = render(event, facts)
    queued = 0
    for address in operator_addresses(settings):
        if address in told:
            continue
        out = Outgoing(address, text, kind=MessageKind.ALERT)
        queued += await outbox.enqueue(session, out, now=now, dedupe_key=_key(f"{key}:{address}"))
    level = logging.WARNING if event in _WARNING_ONLY else logging.ERROR
    # A fact named like a LogRecord attribute ("name", "message") would make logging raise.
    extra: dict[str, Any] = {
        (f"fact_{name}" if name in _RECORD else name): value for name, value in facts.items()
    }
    log.log(
        level,
        "operators told: %s",
        event.value,
        extra={"action": f"ops.{event.value}", "operators": queued, **extra},
    )
    return queued


def _key(text: str) -> str:
    """Fit a dedupe key into the 128-character columns (long ones are hashed)."""
    if len(text) <= 128:
        return text
    return text[:60] + ":" + hashlib.sha256(text.encode()).hexdigest()


class _Facts(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"
