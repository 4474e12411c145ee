"""`/cleanup 24h`: messages to delete from a private chat, and the person's choice (issue 10).

Revision ID: 0017_cleanup
Revises: 0016_pin_pending
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_cleanup"
down_revision = "0016_pin_pending"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cleanup_after_s", sa.Integer(), nullable=True))
    op.create_table(
        "cleanup_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cleanup_items_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cleanup_items")),
    )
    with op.batch_alter_table("cleanup_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cleanup_items_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cleanup_items_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cleanup_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cleanup_items_user_id"))
        batch_op.drop_index(batch_op.f("ix_cleanup_items_due_at"))
    op.drop_table("cleanup_items")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("cleanup_after_s")
