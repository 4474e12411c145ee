"""Escalation, acknowledgement and all-clear: the decisions of `core.lifecycle`, applied.

Used by the scheduler (a missed check-in) and by handlers (SOS, an answer, an
acknowledgement). Every function writes its alert rows and queues its messages in
the caller's transaction, so a state change and the messages it causes commit
together. Natural keys (`alert:{checkin}:{level}:{chat}`) make a retried call queue
nothing twice.

Privacy: a message to a contact never names the defender's other contacts; level 2
(organisers, alert chats) never carries check-in notes or timer notes. An SOS
message is the exception by design: the defender wrote it for everyone alerted.
The one name shared between
recipients is that of the person who pressed "I'm on it", which the button says.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.lifecycle import Kind, Reach
from bot.core.model import Address, Choice, MessageKind, Outgoing
from bot.core.text import clean_name, format_ago
from bot.i18n import t
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import groups as group_store
from bot.store import outbox
from bot.store import users as user_store
from bot.store.models import Alert, Checkin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One recipient of an alert: a person (user_id) or a bound group chat (None)."""

    address: Address
    user_id: int | None
    lang: str


async def reach(session: AsyncSession, user_id: int) -> Reach:
    """Whether anyone would be alerted at level 1 and at level 2."""
    level1 = bool(await contact_store.contact_ids(session, user_id))
    organisers, chats = await group_store.level2_targets(session, user_id)
    return Reach(level1=level1, level2=bool(organisers or chats))


async def _targets(session: AsyncSession, defender_id: int, level: int) -> list[Target]:
    if level == 1:
        people = await contact_store.contact_ids(session, defender_id)
        chats: list[Address] = []
    else:
        people, chats = await group_store.level2_targets(session, defender_id)
    addresses = await user_store.addresses_of(session, people)
    langs = await user_store.langs_of(session, people)
    found = [Target(addresses[p], p, langs.get(p, "en")) for p in people if p in addresses]
    return found + [Target(chat, None, "en") for chat in chats]


async def raise_level(session: AsyncSession, checkin: Checkin, level: int, now: datetime) -> int:
    """Raise one alert level for a check-in; returns how many recipients were told."""
    alert_id = await checkin_store.create_alert(session, checkin.id, level, now)
    if alert_id is None:
        return 0  # already raised by an earlier attempt
    names = await user_store.names_of(session, [checkin.user_id])
    name = clean_name(names.get(checkin.user_id, ""))
    told = 0
    for target in await _targets(session, checkin.user_id, level):
        await checkin_store.add_recipient(
            session, alert_id, target.address.platform, target.address.chat_id, target.user_id
        )
        text = _alert_text(checkin, level, name, target.lang, now)
        choices = ((Choice(t("alert.ack_button", target.lang), f"/ack {checkin.id}"),),)
        queued = await outbox.enqueue(
            session,
            Outgoing(target.address, text, choices, kind=MessageKind.ALERT),
            now=now,
            user_id=target.user_id,
            dedupe_key=f"alert:{checkin.id}:{level}:{target.address}",
            alert_id=alert_id,
        )
        told += int(queued)
    log.info(
        "alert raised",
        extra={
            "action": "checkin.escalate",
            "checkin_id": checkin.id,
            "level": level,
            "told": told,
        },
    )
    return told


def _alert_text(checkin: Checkin, level: int, name: str, lang: str, now: datetime) -> str:
    ago = format_ago(now - checkin.due_at, lang)
    if checkin.kind in (Kind.SOS, Kind.DURESS):
        key = "alert.duress" if checkin.kind == Kind.DURESS else "alert.sos"
        text = t(key, lang, name=name)
        if checkin.message:
            text += "\n" + t("alert.sos_message", lang, message=checkin.message)
    elif checkin.kind == Kind.TIMER:
        text = t(f"alert.timer_level{level}", lang, name=name, ago=ago)
        if checkin.message and level == 1:
            text += "\n" + t("alert.timer_note", lang, note=checkin.message)
    else:
        text = t(f"alert.missed_level{level}", lang, name=name, ago=ago)
    return text + "\n\n" + t("alert.what_to_do", lang, id=checkin.id)


async def _tell_recipients(
    session: AsyncSession,
    recipients: Sequence[Row[Any]],
    key: str,
    dedupe: str,
    now: datetime,
    **params: str,
) -> int:
    """Send one catalog message to each recipient, in their language, once per recipient."""
    langs = await user_store.langs_of(session, [r.user_id for r in recipients if r.user_id])
    for r in recipients:
        lang = langs.get(r.user_id, "en") if r.user_id else "en"
        out = Outgoing(
            Address(r.platform, r.chat_id), t(key, lang, **params), kind=MessageKind.ALERT
        )
        await outbox.enqueue(
            session, out, now=now, user_id=r.user_id,
            dedupe_key=f"{dedupe}:{r.platform}:{r.chat_id}",
        )  # fmt: skip
    return len(recipients)


async def _name(session: AsyncSession, user_id: int) -> str:
    return clean_name((await user_store.names_of(session, [user_id])).get(user_id, ""))


async def all_clear(session: AsyncSession, checkin: Checkin, now: datetime) -> int:
    """Tell everyone who was alerted about this check-in that the defender is safe."""
    recipients = await checkin_store.recipients_of(session, checkin.id)
    name = await _name(session, checkin.user_id)
    told = await _tell_recipients(
        session, recipients, "alert.all_clear", f"clear:{checkin.id}", now, name=name
    )
    await checkin_store.resolve_alerts(session, checkin.id, now)
    log.info("all clear", extra={"action": "checkin.all_clear", "checkin_id": checkin.id})
    return told


async def tell_handled(
    session: AsyncSession, checkin: Checkin, acker_id: int, now: datetime
) -> int:
    """Tell the other recipients who is handling the alert."""
    recipients = await checkin_store.recipients_of(session, checkin.id)
    others = [r for r in recipients if r.user_id != acker_id]
    name, helper = await _name(session, checkin.user_id), await _name(session, acker_id)
    told = await _tell_recipients(
        session, others, "alert.handled", f"ack:{checkin.id}", now, helper=helper, name=name
    )
    log.info("alert acknowledged", extra={"action": "checkin.ack", "checkin_id": checkin.id})
    return told


async def undeliverable(
    session: AsyncSession, alert_id: int, platform: str, chat_id: str, now: datetime
) -> int:
    """An alert could not reach someone: tell the others alerted for the same check-in.

    The message names nobody (contacts are never named to each other); it says that
    one of the people who should have been alerted could not be reached.
    """
    alert = await session.get(Alert, alert_id)
    if alert is None:
        return 0
    checkin = await session.get_one(Checkin, alert.checkin_id)
    others = [
        r for r in await checkin_store.recipients_of(session, checkin.id)
        if (r.platform, r.chat_id) != (platform, chat_id)
    ]  # fmt: skip
    name = await _name(session, checkin.user_id)
    dedupe = f"undeliverable:{alert_id}:{platform}:{chat_id}"
    return await _tell_recipients(session, others, "alert.undeliverable", dedupe, now, name=name)
