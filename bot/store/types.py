"""Column types shared by the models: aware UTC datetimes and secret text.

`UTCDateTime` stores naive UTC on SQLite (which has no time zones) and `timestamptz`
on PostgreSQL, and always hands back aware UTC datetimes, so comparisons in SQL and
in Python agree on both engines.

`SecretText` is the column type for notes, reasons, SOS messages, display names and
outgoing message bodies. It encrypts with the process's field cipher
(`bot.store.crypto`) when one is configured.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
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


#: What an unset duress word or PIN holds, sealed: the same length as a real hash
#: (`scrypt$` + 24 + `$` + 44 characters), so the sealed values look alike too.
_UNSET = "unset$"
_HASH_LENGTH = 76


def unset_filler() -> str:
    """A fresh, sealed "nothing set here", indistinguishable from a sealed hash."""
    filler = _UNSET + secrets.token_urlsafe(64)[: _HASH_LENGTH - len(_UNSET)]
    return crypto.encrypt_field(filler)


class SealedHash(TypeDecorator[str]):
    """A duress-word or PIN hash (already sealed by `crypto.hash_secret`), or None.

    None is never stored as NULL: every person's row holds a sealed value, so a copy
    of the database does not show who has a duress word or a PIN. Only with the key
    can an unset value be told from a set one; Python code sees None as before.
    """

    impl = String(200)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        """None becomes a fresh sealed filler."""
        return unset_filler() if value is None else value

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """A sealed filler (or a NULL from an older database) reads as None."""
        if value is None:
            return None
        try:
            opened = crypto.decrypt_field(value)
        except crypto.DecryptionError:
            return str(value)  # never matches in verify_secret; the key check catches it
        return None if opened.startswith(_UNSET) else str(value)


class SealedId(TypeDecorator[str]):
    """A platform id, chat id or natural key, sealed deterministically (`crypto.seal_id`).

    Comparisons, joins, `IN` and unique constraints work as on clear text, because
    the same id always seals to the same value; a copy of the database shows none.
    """

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        """Seal on the way in (and in every comparison)."""
        return None if value is None else crypto.seal_id(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Open on the way out."""
        return None if value is None else crypto.open_id(value)
