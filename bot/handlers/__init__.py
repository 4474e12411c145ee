"""The route table: command name → handler, merged from each handler module's `ROUTES`.

Handlers never import a transport. Each concern's module declares the commands it
answers; a command claimed twice is a bug and fails at import.
"""

from __future__ import annotations

from types import ModuleType

from bot.handlers import (
    account,
    buddies,
    checkins,
    contacts,
    groups,
    linking,
    privacy,
    reach,
    safety,
    wellbeing,
)
from bot.handlers.router import Route, Router


def _merge(*modules: ModuleType) -> dict[str, Route]:
    merged: dict[str, Route] = {}
    for module in modules:
        routes: dict[str, Route] = module.ROUTES
        clash = merged.keys() & routes.keys()
        if clash:
            raise RuntimeError(f"commands routed twice: {sorted(clash)}")
        merged.update(routes)
    return merged


ROUTES: dict[str, Route] = _merge(
    account, buddies, checkins, contacts, groups, linking, privacy, reach, safety, wellbeing
)

__all__ = ["ROUTES", "Route", "Router", "account"]
