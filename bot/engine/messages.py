"""Turn a plan's raises and notices into recipient rows and outbox messages.

Everything here writes in the caller's transaction and decides nothing: who is
told what comes from the plan (`bot.core.escalation`); this module only finds the
people behind an audience, renders the catalog keys in each person's language and
queues the messages with natural keys (`alert:{checkin}:{level}:{chat}`,
`{tag}:{checkin}:{chat}`), so a retried event queues nothing twice.

Privacy: a message to a contact never names the defender's other contacts; level 2
(organisers, alert chats) never carries a timer note (`Raise.with_note` is false
there). An SOS message is the exception by design: the defender wrote it for
everyone alerted. The one name shared between recipients is that of the person who
acknowledged or resolved, and only with organisers and alert chats: a contact
hears "someone alerted" (`core.escalation.notice_key`), since a contact's phone
may be seized too. A silent (duress) alert's notices reach a group chat only once
its alert was posted there (`bot.delivery` asks the platform first).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.escalation import SILENT_KINDS, Audience, Notice, Raise, notice_key
from bot.core.lifecycle import EMERGENCY_KINDS, Kind
from bot.core.model import Address, Choice, MessageKind, Outgoing
from bot.core.text import clean_name
from bot.i18n import t
from bot.i18n.dates import elapsed
from bot.store import checkins as checkin_store
from bot.store import contacts as contact_store
from bot.store import groups as group_store
from bot.store import outbox
from bot.store import users as user_store

log = logging.getLogger(__name__)

#: The longest SOS text an alert carries; a longer one is cut, never refused.
MAX_SOS_TEXT = 1000


class Subject(Protocol):
    """What messages need to know about a check-in (an ORM row or a claimed row)."""

    id: int
    user_id: int
    kind: str
    due_at: datetime
    message: str | None
    acked_at: datetime | None


def buttons(checkin_id: int, lang: str, *, ack: bool = True) -> tuple[tuple[Choice, ...], ...]:
    """The buttons of an alert: "I'm on it" and "Resolved: they are safe"."""
    row = [Choice(t("alert.resolve_button", lang), f"/resolve {checkin_id}")]
    if ack:
        row.insert(0, Choice(t("alert.ack_button", lang), f"/ack {checkin_id}"))
    return (tuple(row),)


async def raise_levels(
    session: AsyncSession, items: Sequence[tuple[Subject, Raise]], now: datetime
) -> int:
    """Raise alert levels for many check-ins with a few statements; returns messages queued.

    A level raised before is skipped (its alert row exists), so a retried tick tells
    nobody twice. Recipients and messages are written with one statement each.
    """
    created = await checkin_store.create_alerts(session, [(c.id, r.level) for c, r in items], now)
    todo = [(c, r, created[(c.id, r.level)]) for c, r in items if (c.id, r.level) in created]
    if not todo:
        return 0
    contacts = await contact_store.contact_ids_many(
        session, [c.user_id for c, r, _ in todo if r.level == 1]
    )
    level2 = await group_store.level2_targets_many(
        session, [c.user_id for c, r, _ in todo if r.level == 2]
    )
    people = {p for ids in contacts.values() for p in ids}
    people |= {p for ids, _ in level2.values() for p in ids}
    addresses = await user_store.addresses_of(session, people)
    langs = await user_store.langs_of(session, people)
    names = await user_store.names_of(session, {c.user_id for c, _, _ in todo})
    recipients: list[dict[str, Any]] = []
    messages: list[tuple[Any, ...]] = []
    for checkin, raised, alert_id in todo:
        chats: list[Address] = []
        if raised.level == 1:
            ids = contacts.get(checkin.user_id, [])
        else:
            ids, chats = level2.get(checkin.user_id, ([], []))
        targets: list[tuple[Address, int | None, str]] = [
            (addresses[p], p, langs.get(p, "en")) for p in ids if p in addresses
        ]
        targets += [(chat, None, "en") for chat in chats]
        name = clean_name(names.get(checkin.user_id, ""))
        for address, user_id, lang in targets:
            recipients.append(
                {"alert_id": alert_id, "platform": address.platform,
                 "chat_id": address.chat_id, "user_id": user_id}
            )  # fmt: skip
            text = alert_text(checkin, raised, name, lang, now)
            out = Outgoing(address, text, buttons(checkin.id, lang), kind=MessageKind.ALERT)
            key = f"alert:{checkin.id}:{raised.level}:{address}"
            messages.append((out, user_id, key, alert_id))
        log.log(
            logging.DEBUG if checkin.kind in EMERGENCY_KINDS else logging.INFO,  # see engine._log
            "alert raised",
            extra={"action": "checkin.escalate", "checkin_id": checkin.id, "level": raised.level,
                   "told": len(targets)},
        )  # fmt: skip
    await checkin_store.add_recipients(session, recipients)
    return await outbox.enqueue_many(session, messages, now=now)


def alert_text(checkin: Subject, raised: Raise, name: str, lang: str, now: datetime) -> str:
    """The text of one alert: what happened, the defender's own words if allowed, what to do."""
    text = t(raised.key, lang, name=name, ago=elapsed(now - checkin.due_at, lang))
    if raised.with_note and checkin.message:
        if checkin.kind in EMERGENCY_KINDS:
            message = checkin.message[:MAX_SOS_TEXT]
            text += "\n" + t("alert.sos_message", lang, message=message)
        elif checkin.kind == Kind.TIMER:
            text += "\n" + t("alert.timer_note", lang, note=checkin.message)
    return text + "\n\n" + t("alert.what_to_do", lang, id=checkin.id)


async def tell(
    session: AsyncSession,
    checkin: Subject,
    notice: Notice,
    now: datetime,
    *,
    actor: int | None = None,
    acked: bool = False,
    **extra: Any,
) -> int:
    """Send one notice to its audience, in each person's language, once per recipient.

    `actor` is the person who acted (acknowledged, resolved); `OTHERS` leaves them out.
    `acked`: someone has the alert now, so only "Resolved" is offered.
    """
    recipients = await checkin_store.recipients_of(session, checkin.id)
    if notice.audience == Audience.OTHERS:
        recipients = [r for r in recipients if r.user_id is None or r.user_id != actor]
    if checkin_store.kind_of(checkin) in SILENT_KINDS:
        # A chat whose silent alert has not been posted yet (its sender first asks the
        # platform whether the defender is in it) hears nothing before that alert.
        waiting = await checkin_store.unverified_chats(session, checkin.id)
        recipients = [r for r in recipients if (r.platform, r.chat_id) not in waiting]
    if not recipients:
        return 0
    langs = await user_store.langs_of(session, [r.user_id for r in recipients if r.user_id])
    names = await user_store.names_of(session, {checkin.user_id, *([actor] if actor else [])})
    params = {
        "name": clean_name(names.get(checkin.user_id, "")),
        "helper": clean_name(names.get(actor or 0, "")),
        "id": checkin.id,
        **extra,
    }
    organisers = await _organisers(session, checkin.id)
    messages = []
    for r in recipients:
        lang = langs.get(r.user_id, "en") if r.user_id else "en"
        choices = buttons(checkin.id, lang, ack=not acked) if notice.buttons else ()
        key = notice_key(notice.key, organiser_or_chat=r.user_id is None or r.user_id in organisers)
        out = Outgoing(
            Address(r.platform, r.chat_id), t(key, lang, **params, **_ago(checkin, now, lang)),
            choices,
            kind=MessageKind.ALERT,
        )  # fmt: skip
        natural = f"{notice.tag}:{checkin.id}:{r.platform}:{r.chat_id}"
        messages.append((out, r.user_id, natural))
    return await outbox.enqueue_many(session, messages, now=now)


def _ago(checkin: Subject, now: datetime, lang: str) -> dict[str, str]:
    """How long the defender has been silent, and since the ack, in the reader's language."""
    acked = checkin.acked_at
    return {
        "ago": elapsed(now - checkin.due_at, lang),
        "acked_ago": elapsed(now - acked, lang) if acked else "",
    }


async def _organisers(session: AsyncSession, checkin_id: int) -> set[int]:
    """People alerted at level 2 (organisers): the only persons told who handles an alert."""
    return {
        r.user_id
        for r in await checkin_store.recipient_levels(session, checkin_id)
        if r.level == 2 and r.user_id is not None
    }
