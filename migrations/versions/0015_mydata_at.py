"""`/mydata` once an hour: users remember when their data was last exported.

Revision ID: 0015_mydata_at
Revises: 0014_alert_expiry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_mydata_at"
down_revision = "0014_alert_expiry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("mydata_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    # In place (see 0013): batch mode would drop and copy `users`, deleting what refers to it.
    op.execute(sa.text("ALTER TABLE users DROP COLUMN mydata_at"))
