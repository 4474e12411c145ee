"""Commands that lower protection while the sender's alert is open wait here (issue 10).

Revision ID: 0012_deferred_commands
Revises: 0011_prompt_delivered
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_deferred_commands"
down_revision = "0011_prompt_delivered"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("when", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_deferred_commands_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deferred_commands")),
    )
    with op.batch_alter_table("deferred_commands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deferred_commands_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deferred_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deferred_commands_user_id"))
    op.drop_table("deferred_commands")
