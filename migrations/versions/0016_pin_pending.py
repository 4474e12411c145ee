"""A lowering command waiting for the PIN as the next message (a pressed button).

Revision ID: 0016_pin_pending
Revises: 0015_mydata_at
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_pin_pending"
down_revision = "0015_mydata_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_pending", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("pin_pending_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("pin_pending_at")
        batch_op.drop_column("pin_pending")
