"""Tables of the office's reporting: monthly 台账 confirmations, their reminders, and kept quarterly reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage import UTC_TIME, Base


class LedgerReport(Base):
    """A unit head's 确认上报 of the unit's 台账 for one month (YYYY-MM); one row per unit and month."""

    __tablename__ = "ledger_reports"
    __table_args__ = (UniqueConstraint("month", "unit_id", name="uq_ledger_reports_month_unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    appeals: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    confirmed_by: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime] = mapped_column(UTC_TIME)


class LedgerReminder(Base):
    """A reminder sent to a unit that had not reported a month's 台账 (day 15 or 18): exactly once each."""

    __tablename__ = "ledger_reminders"
    __table_args__ = (UniqueConstraint("month", "unit_id", "day", name="uq_ledger_reminders_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    day: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTC_TIME)
    webhook: Mapped[str] = mapped_column(String(16), default="")


class QuarterlyReport(Base):
    """The quarterly analysis report (task 18) as generated and kept: HTML, PDF, and 区营商办's recommendations."""

    __tablename__ = "quarterly_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quarter: Mapped[str] = mapped_column(String(6), unique=True)
    recommendations: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    generated_by: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[datetime] = mapped_column(UTC_TIME)
    finalised_by: Mapped[str | None] = mapped_column(String(64))
    finalised_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
