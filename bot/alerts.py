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
from datetime import datetime
from typing import Any, Protocol

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


class Subject(Protocol):
    """What an alert needs to know about its check-in (an ORM row or a claimed row)."""

    id: int
    user_id: int
    kind: str
    due_at: datetime
    message: str | None


async def reach(session: AsyncSession, user_id: int) -> Reach:
    """Whether anyone would be alerted at level 1 and at level 2."""
    return (await reach_many(session, [user_id]))[user_id]


async def reach_many(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, Reach]:
    """`reach` for several defenders with three queries (a burst of missed check-ins)."""
    contacts = await contact_store.contact_ids_many(session, user_ids)
    level2 = await group_store.level2_targets_many(session, user_ids)
    return {
        uid: Reach(level1=bool(contacts.get(uid)), level2=any(level2.get(uid, ([], []))))
        for uid in user_ids
    }


async def raise_levels(
    session: AsyncSession, items: Sequence[tuple[Subject, int]], now: datetime
) -> int:
    """Raise alert levels for many check-ins with a few statements; returns messages queued.

    A level raised before is skipped (its alert row exists), so a retried tick tells
    nobody twice. Recipients and messages are written with one statement each.
    """
    created = await checkin_store.create_alerts(session, [(c.id, lvl) for c, lvl in items], now)
    todo = [(c, lvl, created[(c.id, lvl)]) for c, lvl in items if (c.id, lvl) in created]
    if not todo:
        return 0
    contacts = await contact_store.contact_ids_many(
        session, [c.user_id for c, lvl, _ in todo if lvl == 1]
    )
    level2 = await group_store.level2_targets_many(
        session, [c.user_id for c, lvl, _ in todo if lvl == 2]
    )
    people = {p for ids in contacts.values() for p in ids}
    people |= {p for ids, _ in level2.values() for p in ids}
    addresses = await user_store.addresses_of(session, people)
    langs = await user_store.langs_of(session, people)
    names = await user_store.names_of(session, {c.user_id for c, _, _ in todo})
    recipients: list[dict[str, Any]] = []
    messages: list[tuple[Any, ...]] = []
    for checkin, level, alert_id in todo:
        if level == 1:
            ids, chats = contacts.get(checkin.user_id, []), []
        else:
            ids, chats = level2.get(checkin.user_id, ([], []))
        targets = [(addresses[p], p, langs.get(p, "en")) for p in ids if p in addresses]
        targets += [(chat, None, "en") for chat in chats]
        name = clean_name(names.get(checkin.user_id, ""))
        for address, user_id, lang in targets:
            recipients.append(
                {"alert_id": alert_id, "platform": address.platform,
                 "chat_id": address.chat_id, "user_id": user_id}
            )  # fmt: skip
            text = _alert_text(checkin, level, name, lang, now)
            choices = ((Choice(t("alert.ack_button", lang), f"/ack {checkin.id}"),),)
            out = Outgoing(address, text, choices, kind=MessageKind.ALERT)
            messages.append((out, user_id, f"alert:{checkin.id}:{level}:{address}", alert_id))
        log.info(
            "alert raised",
            extra={"action": "checkin.escalate", "checkin_id": checkin.id, "level": level,
                   "told": len(targets)},
        )  # fmt: skip
    await checkin_store.add_recipients(session, recipients)
    return await outbox.enqueue_many(session, messages, now=now)


def _alert_text(checkin: Subject, level: int, name: str, lang: str, now: datetime) -> str:
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
