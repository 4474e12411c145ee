"""Errors people see, as catalog keys with parameters; nothing platform-specific."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Bad input from a person: answered with one short catalog message, nothing changed.

    Attributes:
        key: the message catalog key (see `bot/i18n/en.toml`).
        params: values for the message's `{placeholders}`.
    """

    #: Set by a handler for a write that must survive the refusal (e.g. counting a
    #: wrong invite code): the router calls it after rolling the handler back.
    after_rollback: Any = None

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __repr__(self) -> str:
        return f"UserError({self.key!r}, {self.params!r})"


class PermissionDenied(UserError):
    """The person lacks the role for this; the reply reveals nothing about the target."""

    def __init__(self, key: str = "error.not_allowed", **params: Any) -> None:
        super().__init__(key, **params)
