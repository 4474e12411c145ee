"""The first-contact notice is remembered per person, so a group-first person gets it too.

People already known were told at their first contact (or first private message).

Revision ID: 0010_privacy_notice
Revises: 0009_issue12_reach
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_privacy_notice"
down_revision = "0009_issue12_reach"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("privacy_notice_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE users SET privacy_notice_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("privacy_notice_at")
