"""Spreadsheets for the office: the monthly 台账 (a row per appeal and a summary sheet), and appeal exports."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.reports.kpi import COUNT_LABELS, HOUR_LABELS, RATE_LABELS, percent
from bot.reports.periods import Period
from routing import indicators, ledger, queue
from routing.queue import Filters
from tabular import Table, xlsx_bytes

EXPORT_MAX = 50_000
LEDGER_WIDTHS = (20, 17, 24, 22, 8, 40, 14, 24, 12, 17, 17, 17, 8, 10, 30, 30)
EXPORT_COLUMNS = (
    "编号",
    "受理时间",
    "企业",
    "联系人",
    "联系电话",
    "类别",
    "承办单位",
    "状态",
    "最近期限",
    "期限状态",
    "问题描述",
)


def _time(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def ledger_xlsx(
    *, session: Session, period: Period, timezone: str, now: datetime, unit_id: int | None, unit_name: str
) -> tuple[bytes, int]:
    """The month's 台账 of a unit (or of the district): sheet 台账 and sheet 指标汇总; and its number of rows."""
    zone = ZoneInfo(timezone)
    scope = period.scope(timezone=timezone, now=now, unit_id=unit_id)
    rows = []
    for number, entry in enumerate(ledger.entries(session=session, scope=scope), start=2):
        cells: list[object] = [
            entry.reference, _time(entry.received_at, zone), entry.enterprise, entry.category, entry.seed_task,
            entry.summary, entry.unit, entry.co_units, entry.state, _time(entry.signed_at, zone),
            _time(entry.answered_at, zone), _time(entry.closed_at, zone), "是" if entry.late else "否", entry.rating,
            entry.measures, entry.note,
        ]  # fmt: skip
        rows.append((number, cells))
    figures = indicators.total(session=session, scope=scope)
    summary: list[tuple[int, list[object]]] = [
        (2, ["单位", unit_name, ""]),
        (3, ["月份", period.name, f"{period.first} 至 {period.last}"]),
        (4, ["台账件数", len(rows), "本月内任一时刻在办的诉求（含本月受理、本月办结）"]),
    ]
    line = 5
    for key, label in COUNT_LABELS.items():
        summary.append((line, [label, getattr(figures, key), ""]))
        line += 1
    for key, (label, formula) in RATE_LABELS.items():
        summary.append((line, [label, percent(getattr(figures, key)), formula]))
        line += 1
    for key, label in HOUR_LABELS.items():
        value = getattr(figures, key)
        summary.append((line, [label, "—" if value is None else value, "从派单起算，按工作时间计"]))
        line += 1
    tables = [
        Table("台账", list(ledger.COLUMNS), rows),
        Table("指标汇总", ["指标", "数值", "口径"], summary),
    ]
    return xlsx_bytes(tables, widths=LEDGER_WIDTHS, bold_header=True), len(rows)


def appeals_xlsx(*, session: Session, unit_id: int | None, filters: Filters, now: datetime, timezone: str) -> bytes:
    """The appeals the queue's filters find (every page), at most EXPORT_MAX, as one sheet."""
    zone = ZoneInfo(timezone)
    found = queue.queue(session=session, unit_id=unit_id, filters=filters, now=now, per_page=EXPORT_MAX)
    rows = []
    for number, item in enumerate(found.items, start=2):
        deadline = item.deadline
        cells: list[object] = [
            item.reference, _time(item.created_at, zone), item.enterprise, item.contact, item.phone, item.category,
            item.unit, item.state_label, _time(deadline.due_at if deadline else None, zone),
            deadline.status.label if deadline else "", item.description,
        ]  # fmt: skip
        rows.append((number, cells))
    widths = (20, 17, 24, 10, 14, 22, 14, 14, 17, 12, 60)
    return xlsx_bytes([Table("诉求", list(EXPORT_COLUMNS), rows)], widths=widths, bold_header=True)
