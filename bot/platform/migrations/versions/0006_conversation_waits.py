"""conversation: what a message was attached to, supplements, rating comments and reminders, hand-offs

Inbound messages record the appeal or hand-off they were attached to (plain integer columns, as
enterprise_notices.outbound_id); appeals keep the rating's comment, their reopenings (重办) and when an
unanswered rating was asked again; milestones their confirmation; staff replies in a hand-off their author.
Two new tables: handoffs (人工客服) and set_aside_waits ("新问题"). Columns are added with ALTER TABLE ADD
COLUMN and dropped with DROP COLUMN (SQLite 3.35+): no existing table is rebuilt, so nothing cascades.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:51:22.992889
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "set_aside_waits",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid", "key", name=op.f("pk_set_aside_waits")),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_enterprise_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_staff_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeals.id"], name=op.f("fk_handoffs_appeal_id_appeals"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_handoffs_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    op.create_index("ix_handoffs_openid_state", "handoffs", ["openid", "state"], unique=False)
    op.create_index(op.f("ix_handoffs_state"), "handoffs", ["state"], unique=False)
    op.create_index(op.f("ix_handoffs_unit_id"), "handoffs", ["unit_id"], unique=False)

    op.add_column("appeals", sa.Column("rating_comment", sa.Text(), nullable=True))
    op.add_column("appeals", sa.Column("reopens", sa.Integer(), server_default="0", nullable=False))
    op.add_column("appeals", sa.Column("rating_reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("milestones", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))

    op.add_column("inbound_messages", sa.Column("attached_as", sa.String(length=16), nullable=True))
    op.add_column("inbound_messages", sa.Column("appeal_id", sa.Integer(), nullable=True))
    op.add_column("inbound_messages", sa.Column("handoff_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_inbound_messages_appeal_id"), "inbound_messages", ["appeal_id"], unique=False)
    op.create_index(op.f("ix_inbound_messages_handoff_id"), "inbound_messages", ["handoff_id"], unique=False)

    op.add_column("outbound_messages", sa.Column("handoff_id", sa.Integer(), nullable=True))
    op.add_column("outbound_messages", sa.Column("author", sa.String(length=128), nullable=True))
    op.create_index(op.f("ix_outbound_messages_handoff_id"), "outbound_messages", ["handoff_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbound_messages_handoff_id"), table_name="outbound_messages")
    op.drop_column("outbound_messages", "author")
    op.drop_column("outbound_messages", "handoff_id")
    op.drop_index(op.f("ix_inbound_messages_handoff_id"), table_name="inbound_messages")
    op.drop_index(op.f("ix_inbound_messages_appeal_id"), table_name="inbound_messages")
    op.drop_column("inbound_messages", "handoff_id")
    op.drop_column("inbound_messages", "appeal_id")
    op.drop_column("inbound_messages", "attached_as")
    op.drop_column("milestones", "confirmed_at")
    op.drop_column("appeals", "rating_reminded_at")
    op.drop_column("appeals", "reopens")
    op.drop_column("appeals", "rating_comment")
    op.drop_index(op.f("ix_handoffs_unit_id"), table_name="handoffs")
    op.drop_index(op.f("ix_handoffs_state"), table_name="handoffs")
    op.drop_index("ix_handoffs_openid_state", table_name="handoffs")
    op.drop_table("handoffs")
    op.drop_table("set_aside_waits")
