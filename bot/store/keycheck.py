"""The key-check value: the database says at start-up whether this key opens it.

On the first start with a key, every value stored in clear by an older Holdfast
(which allowed running without a key) is sealed, and the check value is written.
From then on a start with another key, or none, stops before anything is read or
written, with one line naming `security.secret_key`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Text, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import crypto
from bot.store.models import KeyCheck, User

log = logging.getLogger(__name__)

#: What the check value holds, sealed; any known text would do.
CHECK_TEXT = "holdfast key check v1"


class KeyMismatch(Exception):
    """This key does not open this database (the message names the key and the fix)."""


MISMATCH = (
    "security.secret_key does not open this database: it was encrypted with another key. "
    "Set HOLDFAST_SECURITY_SECRET_KEY (or security.key_file) to the key it was made with"
)


async def verify_or_adopt(engine: AsyncEngine, now: datetime) -> bool:
    """Check the configured key against the database; adopt it on a database without one.

    Returns True when the key was adopted just now (first start with a key).

    Raises:
        KeyMismatch: the database was sealed with another key.
    """
    async with engine.begin() as conn:
        sealed = (await conn.execute(select(KeyCheck.sealed).limit(1))).scalar_one_or_none()
        if sealed is not None:
            if _opens(sealed, expect=CHECK_TEXT):
                return False
            raise KeyMismatch(MISMATCH)
        # No check value yet: an older database. Values sealed with some other key mean
        # the key is wrong; values in clear are sealed now, before the check is written.
        raw = type_coerce(User.display_name, Text)
        sample = (await conn.execute(select(raw).where(raw.like("hf1:%")).limit(1))).scalar()
        if sample is not None and not _opens(sample):
            raise KeyMismatch(MISMATCH)
    from bot.rotate import seal_clear_values

    sealed_now = await seal_clear_values(engine)
    async with engine.begin() as conn:
        if (await conn.execute(select(KeyCheck.id).limit(1))).first() is None:
            await conn.execute(
                KeyCheck.__table__.insert().values(
                    sealed=crypto.encrypt_field(CHECK_TEXT), created_at=now
                )
            )
    log.warning(
        "database key adopted", extra={"action": "app.key_adopted", "sealed_now": sealed_now}
    )
    return True


def _opens(sealed: str, expect: str | None = None) -> bool:
    """True if the current key opens `sealed` (and it holds `expect`, when given)."""
    if not crypto.looks_sealed(sealed):
        return expect is None  # text in clear that merely starts like a sealed value
    try:
        opened = crypto.decrypt_field(sealed)
    except crypto.DecryptionError:
        return False
    return expect is None or opened == expect
