"""Well-being: sealed answers, the defender's choices, buddies, per-group consent and support.

Revision ID: 0008_issue14_wellbeing
Revises: 0007_sealed_ids
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_issue14_wellbeing"
down_revision = "0007_sealed_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_wellbeing_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_wellbeing_shares_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_group_wellbeing_shares_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_wellbeing_shares")),
        sa.UniqueConstraint("group_id", "user_id", name=op.f("uq_group_wellbeing_shares_group_id")),
    )
    with op.batch_alter_table("group_wellbeing_shares", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_wellbeing_shares_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "wellbeing_prefs",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("weekly_day", sa.Integer(), nullable=True),
        sa.Column("weekly_next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("keep_long", sa.Boolean(), nullable=False),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wellbeing_prefs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_wellbeing_prefs")),
    )
    with op.batch_alter_table("wellbeing_prefs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wellbeing_prefs_weekly_next_at"), ["weekly_next_at"], unique=False
        )

    op.create_table(
        "buddies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("defender_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["defender_id"],
            ["users.id"],
            name=op.f("fk_buddies_defender_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["contacts.id"],
            name=op.f("fk_buddies_link_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buddies")),
        sa.UniqueConstraint("defender_id", name=op.f("uq_buddies_defender_id")),
    )
    with op.batch_alter_table("buddies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buddies_link_id"), ["link_id"], unique=False)

    op.create_table(
        "wellbeing_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Text(), nullable=True),
        sa.Column("feeling", sa.Text(), nullable=True),
        sa.Column("duress", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkins.id"],
            name=op.f("fk_wellbeing_entries_checkin_id_checkins"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wellbeing_entries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wellbeing_entries")),
        sa.UniqueConstraint("checkin_id", name=op.f("uq_wellbeing_entries_checkin_id")),
    )
    with op.batch_alter_table("wellbeing_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wellbeing_entries_at"), ["at"], unique=False)
        batch_op.create_index("ix_wellbeing_entries_user_at", ["user_id", "at"], unique=False)

    op.create_table(
        "group_wellbeing_support",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_wellbeing_support_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_wellbeing_support")),
        sa.UniqueConstraint("group_id", name=op.f("uq_group_wellbeing_support_group_id")),
    )


def downgrade() -> None:
    op.drop_table("group_wellbeing_support")
    with op.batch_alter_table("wellbeing_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_wellbeing_entries_user_at")
        batch_op.drop_index(batch_op.f("ix_wellbeing_entries_at"))

    op.drop_table("wellbeing_entries")
    with op.batch_alter_table("buddies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buddies_link_id"))

    op.drop_table("buddies")
    with op.batch_alter_table("wellbeing_prefs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wellbeing_prefs_weekly_next_at"))

    op.drop_table("wellbeing_prefs")
    with op.batch_alter_table("group_wellbeing_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_wellbeing_shares_user_id"))

    op.drop_table("group_wellbeing_shares")
