"""message recovery: inbound claims with an attempt number, the moment a customer-service send was called

An inbound message records which processing attempt owns it and since when (`attempts`, `claimed_at`): a
retry or the worker takes over a message whose owner died, and the owner's late writes are fenced by the
attempt number. An outbound message records when its send was called (`called_at`, status `sending`), so that
a send cut off between WeChat's answer and its record is settled, not blindly repeated. Columns are added
with ALTER TABLE ADD COLUMN: no table is rebuilt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbound_messages", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("inbound_messages", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_inbound_messages_processed_at_claimed_at", "inbound_messages", ["processed_at", "claimed_at"], unique=False
    )
    op.add_column("outbound_messages", sa.Column("called_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("outbound_messages", "called_at")
    op.drop_index("ix_inbound_messages_processed_at_claimed_at", table_name="inbound_messages")
    op.drop_column("inbound_messages", "claimed_at")
    op.drop_column("inbound_messages", "attempts")
