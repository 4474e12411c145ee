"""Reachability proven: contact links remember when the contact last confirmed.

Existing links count as confirmed when they were made (the contact accepted then).

Revision ID: 0009_issue12_reach
Revises: 0008_issue14_wellbeing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0009_issue12_reach"
down_revision = "0008_issue14_wellbeing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recheck_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("stale_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE contacts SET confirmed_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("stale_at")
        batch_op.drop_column("recheck_sent_at")
        batch_op.drop_column("confirmed_at")
