"""Groups are accountable: an owner who cannot be removed, and a log members can read.

The owner of an existing group is its longest-serving organiser (the creator, unless
they left). Revision ID: 0005_group_owner_log
Revises: 0004_key_check
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_group_owner_log"
down_revision = "0004_key_check"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_groups_owner_id_users"), "users", ["owner_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
    op.execute(
        "UPDATE groups SET owner_id = (SELECT m.user_id FROM group_members m "
        "WHERE m.group_id = groups.id AND m.role = 'organiser' "
        "ORDER BY m.joined_at, m.id LIMIT 1)"
    )
    op.create_table(
        "group_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_group_log_actor_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"],
                                name=op.f("fk_group_log_group_id_groups"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_id"], ["users.id"],
                                name=op.f("fk_group_log_target_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_log")),
    )  # fmt: skip
    with op.batch_alter_table("group_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_log_group_id"), ["group_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("group_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_log_group_id"))
    op.drop_table("group_log")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_groups_owner_id_users"), type_="foreignkey")
        batch_op.drop_column("owner_id")
