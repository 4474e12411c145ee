"""Every record ends: check-ins remember their latest acknowledgement, so an alert
acknowledged and then quiet for the retention closes (and is purged with the rest).

Existing open alerts count from their current acknowledgement, if any.

Revision ID: 0014_alert_expiry
Revises: 0013_duress_sealed
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_alert_expiry"
down_revision = "0013_duress_sealed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("checkins", sa.Column("last_acked_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE checkins SET last_acked_at = acked_at")


def downgrade() -> None:
    # In place (see 0013): batch mode would drop and copy `checkins`, deleting its alerts.
    op.execute(sa.text("ALTER TABLE checkins DROP COLUMN last_acked_at"))
