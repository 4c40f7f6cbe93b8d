"""policy questions: each question the bot answered (or could not), and the policies its answer listed

Two new tables, nothing altered; they feed the policy side of the statistics. Also indexes for the figures of a
period: the pushes' sent_at, the 签收 limits by due time (响应率; covering on PostgreSQL), and the limits not met
by their due time (超时件).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_questions")),
    )
    op.create_index("ix_policy_questions_asked_at_outcome", "policy_questions", ["asked_at", "outcome"])
    op.create_table(
        "policy_questions_shown",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["policy_questions.id"],
            name=op.f("fk_policy_questions_shown_question_id_policy_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.id"],
            name=op.f("fk_policy_questions_shown_policy_id_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", "policy_id", name=op.f("pk_policy_questions_shown")),
    )
    op.create_index("ix_policy_questions_shown_policy_id", "policy_questions_shown", ["policy_id"])
    op.create_index("ix_push_deliveries_sent_at", "push_deliveries", ["sent_at"])
    sign = sa.text("stage = 'sign'")
    op.create_index(
        "ix_appeal_timers_sign_due_at",
        "appeal_timers",
        ["due_at"],
        postgresql_include=["appeal_id", "seq", "unit_id", "stopped_at", "stop_reason"],
        postgresql_where=sign,
        sqlite_where=sign,
    )
    missed = sa.text("suspended_at IS NULL AND (stopped_at IS NULL OR stopped_at > due_at)")
    op.create_index(
        "ix_appeal_timers_missed",
        "appeal_timers",
        ["due_at", "stage", "appeal_id", "unit_id"],
        postgresql_where=missed,
        sqlite_where=missed,
    )


def downgrade() -> None:
    op.drop_index("ix_appeal_timers_missed", table_name="appeal_timers")
    op.drop_index("ix_appeal_timers_sign_due_at", table_name="appeal_timers")
    op.drop_index("ix_push_deliveries_sent_at", table_name="push_deliveries")
    op.drop_index("ix_policy_questions_shown_policy_id", table_name="policy_questions_shown")
    op.drop_table("policy_questions_shown")
    op.drop_index("ix_policy_questions_asked_at_outcome", table_name="policy_questions")
    op.drop_table("policy_questions")
