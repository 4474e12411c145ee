"""A key-check value: a start with a missing or wrong key stops at once.

Revision ID: 0004_key_check
Revises: 0003_issue13_ops
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_key_check"
down_revision = "0003_issue13_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_check")),
    )


def downgrade() -> None:
    op.drop_table("key_check")
