"""The answer window counts from the prompt's delivery: check-ins remember their window
and when the platform accepted the prompt; prompts and reminders name their check-in.

Existing check-ins keep the old clock (no window stored: nothing waits for a delivery).

Revision ID: 0011_prompt_delivered
Revises: 0010_privacy_notice
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_prompt_delivered"
down_revision = "0010_privacy_notice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prompted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkin_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_checkin_id_checkins", "checkins", ["checkin_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch_op.create_index("ix_outbox_checkin_id", ["checkin_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_checkin_id")
        batch_op.drop_constraint("fk_outbox_checkin_id_checkins", type_="foreignkey")
        batch_op.drop_column("checkin_id")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_column("prompted_at")
        batch_op.drop_column("window_s")
