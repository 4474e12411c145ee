"""The route table: command name → handler. Handlers never import a transport."""

from __future__ import annotations

from bot.handlers import account, checkins, contacts, safety
from bot.handlers.router import Route, Router

ROUTES: dict[str, Route] = {
    "start": Route(account.start),
    "help": Route(account.help_, private_only=False),
    "tz": Route(account.tz),
    "lang": Route(account.lang),
    "checkin": Route(checkins.checkin),
    "checkins": Route(checkins.checkins),
    "checkin_remove": Route(checkins.checkin_remove),
    "timer": Route(checkins.timer),
    "ok": Route(checkins.ok),
    "sos": Route(safety.sos),
    "status": Route(safety.status),
    "invite": Route(contacts.invite),
    "accept": Route(contacts.accept),
    "decline": Route(contacts.decline),
    "contacts": Route(contacts.contacts),
    "contact_remove": Route(contacts.contact_remove),
    "ack": Route(contacts.ack, private_only=False),
}

__all__ = ["ROUTES", "Route", "Router", "account"]
