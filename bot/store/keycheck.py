"""The key-check value: the database says at start-up whether this key opens it.

On the first start with a key, every value stored in clear by an older Holdfast
(which allowed running without a key) is sealed, and the check value is written.
From then on a start with another key, or none, stops before anything is read or
written, with one line naming `security.secret_key`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import cast

from sqlalchemy import Table, Text, and_, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.lifecycle import Kind
from bot.store import crypto
from bot.store.checkins import stored_kind
from bot.store.models import Checkin, KeyCheck, User, WellbeingEntry

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
        if sealed is not None and not _opens(sealed, expect=CHECK_TEXT):
            raise KeyMismatch(MISMATCH)
        if sealed is None:
            # An older database. Values sealed with another key mean the key is wrong;
            # values in clear are sealed below, before the check value is written.
            raw = type_coerce(User.display_name, Text)
            stmt = select(raw).where(raw.like("hf1:%")).limit(1)
            sample = (await conn.execute(stmt)).scalar()
            if sample is not None and not _opens(sample):
                raise KeyMismatch(MISMATCH)
    await fill_unset_hashes(engine)
    await seal_duress_kinds(engine)
    await move_old_scores(engine)
    if sealed is not None:
        await _seal_ids_once(engine)
        return False
    from bot.rotate import seal_clear_values

    sealed_now = await seal_clear_values(engine)
    async with engine.begin() as conn:
        if (await conn.execute(select(KeyCheck.id).limit(1))).first() is None:
            await conn.execute(
                cast(Table, KeyCheck.__table__).insert().values(
                    sealed=crypto.encrypt_field(CHECK_TEXT), created_at=now, ids_sealed=True
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


async def _seal_ids_once(engine: AsyncEngine) -> None:
    """Seal the platform ids of a database that had its key before ids were sealed."""
    async with engine.begin() as conn:
        done = (await conn.execute(select(KeyCheck.ids_sealed).limit(1))).scalar()
    if done:
        return
    from bot.rotate import seal_clear_values

    count = await seal_clear_values(engine, ids_only=True)
    async with engine.begin() as conn:
        await conn.execute(update(KeyCheck).values(ids_sealed=True))
    log.warning("platform ids sealed", extra={"action": "app.ids_sealed", "values": count})


async def fill_unset_hashes(engine: AsyncEngine) -> int:
    """Give every person without a duress word or PIN a sealed filler instead of NULL.

    Rows written by an older Holdfast (or inserted in bulk) hold NULL, which would show
    who has set one. Each filler is sealed afresh, row by row, so no two look alike.
    """
    done = 0
    for column in (User.duress_hash, User.pin_hash):
        async with engine.begin() as conn:
            ids = (await conn.execute(select(User.id).where(column.is_(None)))).scalars().all()
            for user_id in ids:
                await conn.execute(
                    update(User).where(User.id == user_id, column.is_(None))
                    .values({column.key: None})  # SealedHash writes None as a fresh filler
                )  # fmt: skip
            done += len(ids)
    return done


async def seal_duress_kinds(engine: AsyncEngine) -> int:
    """Turn duress alerts of an older database into SOS rows with the variant sealed.

    `checkins.kind = 'duress'` told a copy of the database who used a duress word and
    when. Every SOS gets a sealed variant of one length ("1": duress, "0": not), sealed
    afresh row by row, so no two look alike. Returns the rows changed.
    """
    async with engine.begin() as conn:
        stmt = select(Checkin.id, Checkin.kind).where(
            or_(
                Checkin.kind == Kind.DURESS.value,
                and_(Checkin.kind == Kind.SOS.value, Checkin.variant.is_(None)),
            )
        )
        rows = (await conn.execute(stmt)).all()
        for row in rows:
            await conn.execute(
                update(Checkin)
                .where(Checkin.id == row.id, Checkin.kind == row.kind)
                .values(**stored_kind(Kind(row.kind)))
            )
    if rows:
        log.warning(
            "duress alerts sealed", extra={"action": "app.duress_sealed", "rows": len(rows)}
        )
    return len(rows)


async def move_old_scores(engine: AsyncEngine) -> int:
    """Move scores an older Holdfast kept on check-ins to the well-being answers.

    `checkins.score` was stored in clear; the answers are sealed, and `/wellbeing`,
    `/mydata` and retention see them there.

    A check-in that has a well-being answer already keeps that one. Returns scores moved.
    """
    async with engine.begin() as conn:
        stmt = select(Checkin.id, Checkin.user_id, Checkin.score, Checkin.answered_at,
                      Checkin.due_at).where(Checkin.score.is_not(None))  # fmt: skip
        rows = (await conn.execute(stmt)).all()
        if not rows:
            return 0
        answered = select(WellbeingEntry.checkin_id).where(
            WellbeingEntry.checkin_id.in_([r.id for r in rows])
        )
        taken = set((await conn.execute(answered)).scalars())
        fresh = [r for r in rows if r.id not in taken]
        if fresh:
            await conn.execute(
                cast(Table, WellbeingEntry.__table__).insert(),
                [{"user_id": r.user_id, "checkin_id": r.id, "at": r.answered_at or r.due_at,
                  "score": str(r.score)} for r in fresh],
            )  # fmt: skip
        await conn.execute(
            update(Checkin).where(Checkin.id.in_([r.id for r in rows])).values(score=None)
        )
    log.warning("old scores moved", extra={"action": "app.scores_moved", "n": len(fresh)})
    return len(fresh)
