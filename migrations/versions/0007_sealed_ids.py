"""Platform ids, chat ids and natural keys are stored sealed: wider columns.

The values themselves are sealed by the app on its first start with this revision
(it needs the key, which migrations never see); `key_check.ids_sealed` records that.

Revision ID: 0007_sealed_ids
Revises: 0006_issue9_escalation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_sealed_ids"
down_revision = "0006_issue9_escalation"
branch_labels = None
depends_on = None

COLUMNS = (
    ("identities", "external_id"),
    ("identities", "chat_id"),
    ("group_alert_chats", "chat_id"),
    ("alert_recipients", "chat_id"),
    ("outbox", "chat_id"),
    ("outbox", "dedupe_key"),
    ("chat_choices", "chat_id"),
    ("processed_inbound", "key"),
)


def _resize(length: int) -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=128 if length == 255 else 255),
                type_=sa.String(length=length),
                existing_nullable=(table, column) == ("outbox", "dedupe_key"),
            )


def upgrade() -> None:
    _resize(255)
    with op.batch_alter_table("key_check", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ids_sealed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("key_check", schema=None) as batch_op:
        batch_op.drop_column("ids_sealed")
    _resize(128)
