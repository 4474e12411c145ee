"""Operations: reports told to operators, leases for single-holder roles, heartbeats.

Revision ID: 0003_issue13_ops
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_issue13_ops"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_reports")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_ops_reports_dedupe_key")),
    )
    with op.batch_alter_table("ops_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_reports_created_at"), ["created_at"])
    op.create_table(
        "ops_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ops_leases")),
    )
    op.create_table(
        "ops_beats",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ops_beats")),
    )


def downgrade() -> None:
    op.drop_table("ops_beats")
    op.drop_table("ops_leases")
    with op.batch_alter_table("ops_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_reports_created_at"))
    op.drop_table("ops_reports")
