"""indicators and reports: facts the rates read, their indexes, 台账 confirmations and reminders, quarterly reports

Columns are added (never a table rebuilt, so no ON DELETE CASCADE can fire on SQLite): the first 签收 of an
appeal and the working seconds to 签收, 答复 and 办结 (from now on; older appeals leave the averages), and the
unit a timer was set for (older timers take the appeal's unit). New tables: ledger_reports, ledger_reminders,
quarterly_reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("first_signed_at",):
        op.add_column("appeals", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    for name in ("sign_seconds", "answer_seconds", "close_seconds"):
        op.add_column("appeals", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("appeal_timers", sa.Column("unit_id", sa.Integer(), nullable=True))
    op.add_column("units", sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False))
    op.execute(
        "UPDATE appeals SET first_signed_at = (SELECT min(e.at) FROM appeal_events e "
        "WHERE e.appeal_id = appeals.id AND e.action = 'sign')"
    )
    op.execute(
        "UPDATE appeal_timers SET unit_id = (SELECT a.unit_id FROM appeals a WHERE a.id = appeal_timers.appeal_id)"
    )
    op.create_index("ix_appeals_created_at", "appeals", ["created_at"])
    op.create_index("ix_appeals_closed_at", "appeals", ["closed_at"])
    op.create_index("ix_appeal_events_action_at", "appeal_events", ["action", "at"])
    op.create_index("ix_appeal_timers_stage_due_at", "appeal_timers", ["stage", "due_at"])
    op.create_index("ix_appeal_timers_stage_started_at", "appeal_timers", ["stage", "started_at"])
    late = sa.text("stage = 'reply' AND stop_reason = 'met' AND stopped_at > due_at")
    op.create_index(
        "ix_appeal_timers_late_reply", "appeal_timers", ["appeal_id"], postgresql_where=late, sqlite_where=late
    )
    op.create_table(
        "ledger_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("appeals", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ledger_reports_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_reports")),
        sa.UniqueConstraint("month", "unit_id", name="uq_ledger_reports_month_unit_id"),
    )
    op.create_table(
        "ledger_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("webhook", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ledger_reminders_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_reminders")),
        sa.UniqueConstraint("month", "unit_id", "day", name="uq_ledger_reminders_key"),
    )
    op.create_table(
        "quarterly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("recommendations", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("generated_by", sa.String(length=64), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalised_by", sa.String(length=64), nullable=True),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarterly_reports")),
        sa.UniqueConstraint("quarter", name=op.f("uq_quarterly_reports_quarter")),
    )


def downgrade() -> None:
    op.drop_table("quarterly_reports")
    op.drop_table("ledger_reminders")
    op.drop_table("ledger_reports")
    op.drop_index("ix_appeal_timers_late_reply", table_name="appeal_timers")
    op.drop_index("ix_appeal_timers_stage_started_at", table_name="appeal_timers")
    op.drop_index("ix_appeal_timers_stage_due_at", table_name="appeal_timers")
    op.drop_index("ix_appeal_events_action_at", table_name="appeal_events")
    op.drop_index("ix_appeals_closed_at", table_name="appeals")
    op.drop_index("ix_appeals_created_at", table_name="appeals")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch rebuild of appeals would cascade its events away.
    op.drop_column("appeal_timers", "unit_id")
    op.drop_column("units", "active")
    for name in ("close_seconds", "answer_seconds", "sign_seconds", "first_signed_at"):
        op.drop_column("appeals", name)
