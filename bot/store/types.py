"""Column types shared by the models: aware UTC datetimes and secret text.

`UTCDateTime` stores naive UTC on SQLite (which has no time zones) and `timestamptz`
on PostgreSQL, and always hands back aware UTC datetimes, so comparisons in SQL and
in Python agree on both engines.

`SecretText` is the column type for notes, reasons, SOS messages, display names and
outgoing message bodies. It encrypts with the process's field cipher
(`bot.store.crypto`) when one is configured.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bot.store import crypto


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every engine; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Aware → UTC (naive on SQLite); naive input is a bug."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Whatever the engine returns → aware UTC."""
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a textual query
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SecretText(TypeDecorator[str]):
    """Text encrypted at rest with the configured field cipher (see `bot.store.crypto`)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        """Seal on the way in."""
        if value is None:
            return None
        return crypto.encrypt_field(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Open on the way out."""
        if value is None:
            return None
        return crypto.decrypt_field(value)
