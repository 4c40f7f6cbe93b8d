"""Export the routing table as .xlsx (every table), .csv (one table) or .json (the default table's shape).

What is exported imports back unchanged (a round trip), so admins edit the export and import it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.deadlines import format_limit
from routing.importing import KINDS, TABLES
from routing.models import CalendarDay, Category, CategoryUnit, TimeLimit, Unit
from routing.rules import SETTING_KEYS, setting_values
from tabular import Table, csv_bytes, json_bytes, xlsx_bytes

SETTING_NOTES = {
    "reference_prefix": "诉求编号前缀（1-6 个英文字母），如 LH-20261127-0042",
    "working_hours": "工作时间和时区，工作小时时限按此计算",
    "urgencies": "紧急程度；出现关键词即按该等级计时",
    "reply_max_days": "延期后答复时限最多多少个工作日",
    "escalation": "分级督办：时限用去百分之几时通知谁",
    "supervisor_unit": "督办单位（受理退回、裁定争议、审批延期）",
    "default_category": "无法归类的诉求派往的类别",
    "max_returns": "每件诉求最多退回几次，之后由督办单位裁定",
    "digest_minutes": "督办汇总的最短间隔（分钟）",
    "return_reasons": "退回原因代码",
    "dissatisfaction_reasons": "不满意原因；subjective 为 true 的原因重新交办",
    "resume_on_supplement": "企业在对话中补充材料后是否自动恢复办理（false：由工作人员确认材料齐全后恢复）",
    "rating_reminder_hours": "答复后多少小时未评价时再提醒一次企业，再过同样时间转电话回访",
    "handoff_reply_minutes": "人工客服：工作时间内承诺的答复时间（分钟）",
}


def table_data(*, session: Session) -> dict[str, Any]:
    """The routing table in the database, in the shape of default_table.json (plus the calendar)."""
    units = [
        {
            "name": unit.name,
            "kind": unit.kind,
            "aliases": list(unit.aliases or []),
            "contact_name": unit.contact_name,
            "contact_phone": unit.contact_phone,
            "head_name": unit.head_name,
            "head_phone": unit.head_phone,
        }
        for unit in session.scalars(select(Unit).order_by(Unit.id))
    ]
    co_units: dict[int, list[str]] = {}
    for category_id, name in session.execute(
        select(CategoryUnit.category_id, Unit.name)
        .join(Unit, Unit.id == CategoryUnit.unit_id)
        .order_by(CategoryUnit.category_id, CategoryUnit.position)
    ):
        co_units.setdefault(category_id, []).append(name)
    categories = [
        {
            "code": category.code,
            "name": category.name,
            "description": category.description,
            "keywords": list(category.keywords or []),
            "seed_task": category.seed_task,
            "asks_place": category.asks_place,
            "lead_unit": category.lead_unit.name,
            "units": co_units.get(category.id, []),
        }
        for category in session.scalars(select(Category).order_by(Category.code))
    ]
    limits: dict[tuple[str, str], dict[str, str]] = {}
    for row in session.scalars(select(TimeLimit).order_by(TimeLimit.id)):
        limits.setdefault((row.category_code, row.urgency), {"category": row.category_code, "urgency": row.urgency})[
            row.stage
        ] = format_limit(row.amount, row.unit)
    calendar = [
        {"date": day.day.isoformat(), "workday": day.workday, "name": day.name}
        for day in session.scalars(select(CalendarDay).order_by(CalendarDay.day))
    ]
    settings = setting_values(session=session)
    return {
        "units": units,
        "categories": categories,
        "time_limits": list(limits.values()),
        "calendar": calendar,
        **{key: settings[key] for key in SETTING_KEYS if key in settings},
    }


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "；".join(value)
    return value


def sheets(data: dict[str, Any]) -> list[Table]:
    """The table as spreadsheet tables with Chinese headers."""
    out = []
    for table in ("units", "categories", "time_limits", "calendar"):
        label, columns = TABLES[table]
        rows = []
        for number, record in enumerate(data[table], start=2):
            cells = []
            for column in columns:
                value = record.get(column.key, "")
                if table == "units" and column.key == "kind":
                    value = KINDS.get(value, value)
                if table == "calendar" and column.key == "workday":
                    value = "上班" if value else "休息"
                cells.append(_cell(value))
            rows.append((number, cells))
        out.append(Table(label, [column.label for column in columns], rows))
    settings = [
        (
            number,
            [
                key,
                data[key] if isinstance(data[key], str) else json.dumps(data[key], ensure_ascii=False),
                SETTING_NOTES.get(key, ""),
            ],
        )
        for number, key in enumerate((key for key in SETTING_KEYS if key in data), start=2)
    ]
    out.append(Table(TABLES["settings"][0], [column.label for column in TABLES["settings"][1]], settings))
    return out


def export_file(*, session: Session, path: Path, table: str = "categories") -> int:
    """Write the routing table to `path` (.xlsx, .csv with one `table`, or .json); how many rows were written."""
    data = table_data(session=session)
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_bytes(json_bytes(data))
        return sum(len(data[key]) for key in ("units", "categories", "time_limits", "calendar"))
    tables = sheets(data)
    if suffix == ".csv":
        tables = [next(sheet for sheet in tables if sheet.name == TABLES[table][0])]
    elif suffix != ".xlsx":
        raise ValueError(f"不支持的文件格式：{path.suffix}（请使用 .xlsx / .csv / .json）")
    written = sum(len(list(sheet.rows)) for sheet in tables)  # sheets() builds its rows as lists
    path.write_bytes(csv_bytes(tables[0]) if suffix == ".csv" else xlsx_bytes(tables, bold_header=True))
    return written
