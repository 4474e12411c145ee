"""Reachability proven, and kept proven: asking contacts again, and telling the defender.

A contact is only as good as the channel that reaches them and their will to act.
Every `checkins.recheck_contacts` each contact is asked "Can you still act for
<name>?" with Yes / No, remove me. A contact who does not answer within
`ANSWER_WITHIN` is stale: the defender sees the count in /status and /contacts
(numbers only, never names) and is told privately when no confirmed contact is
left. Stale contacts are still alerted: a stale link is a warning, not a removal.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core.model import Choice, MessageKind, Outgoing
from bot.core.text import clean_name
from bot.i18n import t
from bot.runtime import Runtime
from bot.store import outbox
from bot.store import reach as reach_store
from bot.store import users as user_store
from bot.store.db import transaction

log = logging.getLogger(__name__)

#: How long a contact has to answer a re-check before the link is stale.
ANSWER_WITHIN = timedelta(days=7)

#: Re-checks are counted in days: looking once a minute keeps idle ticks one query.
LOOK_EVERY = timedelta(minutes=1)
_looked: dict[str, datetime] = {}  # worker_id -> when this process last looked


async def run_once(rt: Runtime, now: datetime) -> int:
    """Ask the contacts who are due, mark unanswered links stale; returns messages queued.

    Does nothing when it looked less than `LOOK_EVERY` ago (in this process).
    """
    last = _looked.get(rt.worker_id)
    if last is not None and timedelta(0) <= now - last < LOOK_EVERY:
        return 0
    _looked[rt.worker_id] = now
    every = rt.settings.checkins.recheck_contacts
    async with transaction(rt.sessions) as session:
        asked = await reach_store.claim_rechecks(session, now, every)
        stale = await reach_store.mark_stale(session, now, ANSWER_WITHIN)
        if not asked and not stale:
            return 0
        people = {row.contact_id for row in asked} | {row.defender_id for row in asked}
        people |= {row.defender_id for row in stale}
        addresses = await user_store.addresses_of(session, people)
        names = await user_store.names_of(session, people)
        langs = await user_store.langs_of(session, people)
        queued = 0
        for link_id, defender_id, contact_id in (tuple(row) for row in asked):
            address = addresses.get(contact_id)
            if address is None:
                continue
            lang = langs.get(contact_id, "en")
            name = clean_name(names.get(defender_id, ""))
            choices = ((Choice(t("reach.yes", lang), f"/contact_confirm {link_id}"),
                        Choice(t("reach.no", lang), f"/contact_remove {link_id}")),)  # fmt: skip
            text = t("reach.ask", lang, name=name)
            out = Outgoing(address, text, choices=choices, kind=MessageKind.INFO)
            queued += await outbox.enqueue(
                session,
                out,
                now=now,
                user_id=contact_id,
                dedupe_key=f"recheck:{link_id}:{now:%Y%m%d%H%M}",
            )
        for defender_id in {row.defender_id for row in stale}:
            counts = await reach_store.counts(session, defender_id)
            address = addresses.get(defender_id)
            if counts.confirmed or address is None:
                continue
            text = t("reach.none_left", langs.get(defender_id, "en"), stale=counts.stale)
            out = Outgoing(address, text, kind=MessageKind.INFO)
            queued += await outbox.enqueue(session, out, now=now, user_id=defender_id)
    log.info(
        "contacts re-checked",
        extra={"action": "reach.run", "asked": len(asked), "stale": len(stale)},
    )
    return queued
