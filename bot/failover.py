"""One person, several ways to reach them: a failed send tries the person's other platform.

A person may link identities on several platforms (`/link`). Messages go to the
one they used last (`store.users.addresses_of`). When a send of an alert, a
reminder or a prompt to a person's private chat fails because the platform says
they cannot be reached there, or because the platform is rate-limiting the bot
(a captcha included), the same message is queued once for each of their other
linked platforms that is running. "Once" is a dedupe key on the original row;
a copy is never failed over again, so nobody gets the same message twice on one
platform.

For a rate limit the original keeps being retried as well (an alert is never
given up while open), so the person may see it on both platforms: twice on two
apps beats not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Outgoing
from bot.store import outbox
from bot.store import users as user_store

log = logging.getLogger(__name__)

#: What is worth a second platform: what tells someone they or a person are in danger.
KINDS = frozenset({"alert", "reminder", "prompt"})
_PREFIX = "failover:"


async def fail_over(
    session: AsyncSession,
    row: Row[Any],
    out: Outgoing,
    now: datetime,
    platforms: Collection[str],
) -> int:
    """Queue `out` on the person's other linked platforms (running ones), once per row.

    Returns how many copies were queued now (0 when this row was failed over
    before, is itself a copy, is not a person's message, or there is no other way).
    """
    if row.user_id is None or row.kind not in KINDS:
        return 0
    if (row.dedupe_key or "").startswith(_PREFIX):
        return 0
    queued = 0
    for address in await user_store.other_addresses(session, row.user_id, row.platform):
        if address.platform not in platforms:
            continue
        queued += await outbox.enqueue(
            session,
            replace(out, to=address, answer_ref=None),
            now=now,
            user_id=row.user_id,
            dedupe_key=f"{_PREFIX}{row.id}:{address.platform}",
            alert_id=row.alert_id,
            checkin_id=row.checkin_id,
        )
    if queued:
        log.warning(
            "a message failed over to another platform",
            extra={"action": "delivery.failover", "outbox_id": row.id, "from": row.platform},
        )
    return queued


async def first_address(session: AsyncSession, row: Row[Any]) -> tuple[str, str]:
    """The chat a message was first addressed to: a copy's original, else its own.

    An alert recipient is recorded under the first address, so a failed copy is
    reported as that recipient failing (and the person is not told about themself).
    """
    key = row.dedupe_key or ""
    if key.startswith(_PREFIX):
        found = await outbox.address_of(session, int(key[len(_PREFIX) :].split(":", 1)[0]))
        if found is not None:
            return found
    return row.platform, row.chat_id
