"""Escalation that ends only when someone acts: repeat and level-2 clocks, recipient status.

Revision ID: 0006_issue9_escalation
Revises: 0005_group_owner_log
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006_issue9_escalation"
down_revision = "0005_group_owner_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level2_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("repeats_sent", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("phone_ok_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="queued", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_recipients", schema=None) as batch_op:
        batch_op.drop_column("status")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_column("phone_ok_at")
        batch_op.drop_column("alerted_at")
        batch_op.drop_column("repeats_sent")
        batch_op.drop_column("level2_at")
