"""Wrong safe PINs are throttled like wrong invite codes: attempts get a kind.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bad_code_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="code", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("bad_code_attempts", schema=None) as batch_op:
        batch_op.drop_column("kind")
