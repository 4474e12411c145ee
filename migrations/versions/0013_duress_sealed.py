"""Duress is not a distinct value at rest: an SOS kind with its variant sealed.

`checkins.duress` goes; `checkins.variant` (sealed, the same length for every SOS)
takes its place. Sealing needs the key, which migrations do not have: rows of kind
'duress' are turned into sealed SOS rows by the app at its first start with the key
(`store.keycheck.seal_duress_kinds`); until then the app reads them as they are.
Well-being answers given right after a duress answer were kept marked; they are not
the defender's well-being and are deleted with the mark.

Revision ID: 0013_duress_sealed
Revises: 0012_deferred_commands
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_duress_sealed"
down_revision = "0012_deferred_commands"
branch_labels = None
depends_on = None


def _drop(table: str, column: str) -> None:
    """Drop a column in place.

    Not with batch mode on SQLite: it copies the table and drops the old one, and with
    foreign keys on, dropping `checkins` deletes every alert (ON DELETE CASCADE) and
    unlinks every answer and message (SET NULL). SQLite has DROP COLUMN since 3.35.
    """
    op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))


def upgrade() -> None:
    op.add_column("checkins", sa.Column("variant", sa.Text(), nullable=True))
    _drop("checkins", "duress")
    op.execute(sa.text("DELETE FROM wellbeing_entries WHERE duress = :yes").bindparams(yes=True))
    _drop("wellbeing_entries", "duress")


def downgrade() -> None:
    for table in ("wellbeing_entries", "checkins"):
        op.add_column(
            table, sa.Column("duress", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _drop("checkins", "variant")
