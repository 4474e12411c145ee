"""`holdfast rotate-key`: re-encrypt every secret column with a new key, row by row.

Every `SecretText` column of every table, and the sealed hashes of the duress word
and PIN, are read raw (as stored); each value not already sealed with the new key
is opened (with the old key, or as clear text if it was stored before a key was
set) and sealed again with the new one. Work goes
in batches, one short transaction each, keyed by id: an interrupted rotation is
simply run again, and values already rotated are skipped.

Stop the bot while rotating: a running bot seals new values with the old key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Row, Table, Text, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import crypto
from bot.store.models import Base
from bot.store.types import SealedId, SecretText

log = logging.getLogger(__name__)

BATCH = 500


class RotationError(Exception):
    """A value could not be opened: the old key is wrong or missing (the message says where)."""


@dataclass
class RotationReport:
    """How many values were re-sealed, per table, and how many were already current."""

    resealed: dict[str, int] = field(default_factory=dict)
    current: int = 0

    @property
    def total(self) -> int:
        """Values re-sealed in all tables."""
        return sum(self.resealed.values())


#: Plain-text columns sealed by hand (`crypto.hash_secret`, the key-check value).
SEALED_HASHES = frozenset({"users.duress_hash", "users.pin_hash", "key_check.sealed"})


def _sealed(column: Column[Any]) -> bool:
    return (
        isinstance(column.type, SecretText | SealedId)
        or f"{column.table.name}.{column.name}" in SEALED_HASHES
    )


def secret_columns() -> list[tuple[Table, list[Column[str]]]]:
    """Each table with sealed columns (`SecretText`, and the secret hashes), and those columns."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if _sealed(c)]
        if columns:
            found.append((table, columns))
    return found


async def rotate_key(
    engine: AsyncEngine, new_key: str, old_keys: tuple[str, ...] = (), *, batch: int = BATCH
) -> RotationReport:
    """Re-seal every secret value with `new_key`; `old_keys` open what is sealed now.

    Leaves the process's cipher configured with the new key (and the old ones).

    Raises:
        ValueError: `new_key` is empty.
        RotationError: a value was sealed with a key not given.
    """
    if not new_key:
        raise ValueError("the new key is empty")
    crypto.configure(new_key, old_keys)
    report = RotationReport()
    for table, columns in secret_columns():
        report.resealed[table.name] = await _rotate_table(engine, table, columns, batch, report)
        count = report.resealed[table.name]
        log.info(
            "table re-encrypted",
            extra={"action": "rotate.table", "table": table.name, "values": count},
        )
    return report


async def seal_clear_values(
    engine: AsyncEngine, *, batch: int = BATCH, ids_only: bool = False
) -> int:
    """Seal, with the current key, every secret value an older Holdfast stored in clear.

    Values already sealed (with any key) are left alone: `keycheck` has made sure the
    current key is the database's. `ids_only`: just the `SealedId` columns (a database
    that had its key before ids were sealed). Returns how many values were sealed.
    """
    report = RotationReport()
    total = 0
    for table, columns in secret_columns():
        if ids_only:
            columns = [c for c in columns if isinstance(c.type, SealedId)]
            if not columns:
                continue
        total += await _rotate_table(engine, table, columns, batch, report, clear_only=True)
    return total


async def _rotate_table(
    engine: AsyncEngine,
    table: Table,
    columns: list[Column[str]],
    batch: int,
    report: RotationReport,
    *,
    clear_only: bool = False,
) -> int:
    pk = table.c.id
    raw = [type_coerce(c, Text).label(c.name) for c in columns]
    last, done = 0, 0
    while True:
        async with engine.begin() as conn:
            stmt = select(pk, *raw).where(pk > last).order_by(pk).limit(batch)
            rows = (await conn.execute(stmt)).all()
            for row in rows:
                changes = _clear(table, row) if clear_only else _reseal(table, row)
                report.current += len(columns) - len(changes)
                for name in changes:  # the column types seal on write; hashes are sealed here
                    if not isinstance(table.c[name].type, SecretText | SealedId):
                        changes[name] = crypto.encrypt_field(changes[name])
                if changes:
                    await conn.execute(update(table).where(pk == row.id).values(**changes))
                    done += len(changes)
        if len(rows) < batch:
            return done
        last = rows[-1].id


def _is_id(table: Table, name: str) -> bool:
    return isinstance(table.c[name].type, SealedId)


def _clear(table: Table, row: Row[Any]) -> dict[str, str]:
    """The values of one row stored in clear (to be sealed as they are)."""
    found = {}
    for name, value in row._mapping.items():
        if name == "id" or value is None:
            continue
        looks = crypto.looks_sealed_id if _is_id(table, name) else crypto.looks_sealed
        if not looks(value):
            found[name] = value
    return found


def _reseal(table: Table, row: Row[Any]) -> dict[str, str]:
    """The values of one row that need sealing with the current key, opened (in clear).

    The update writes them through `SecretText`, which seals with the current key.
    """
    changes = {}
    for name, value in row._mapping.items():
        if name == "id" or value is None:
            continue
        is_id = _is_id(table, name)
        current = crypto.id_sealed_with_current if is_id else crypto.is_sealed_with_current
        if current(value):
            continue
        try:
            changes[name] = crypto.open_id(value) if is_id else crypto.decrypt_field(value)
        except crypto.DecryptionError as exc:
            raise RotationError(
                f"{table.name}.{name} of row {row.id} was sealed with a key that was not given "
                f"(key id {value.split(':')[1]}); pass the key in use as --old-key "
                "or HOLDFAST_SECURITY_OLD_KEY"
            ) from exc
    return changes
