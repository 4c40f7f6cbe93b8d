"""Import the routing table from .xlsx, .csv or .json: check everything, then apply all of it or nothing.

An .xlsx holds one sheet per table (单位, 诉求类别, 办理时限, 节假日, 参数); a .csv holds one table,
recognised by its header; a .json has the shape of routing/default_table.json. Headers are Chinese
(as admins keep them) or the English alias; unknown columns are refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.deadlines import LimitError, parse_limit
from routing.models import Category, Unit
from routing.rules import SETTING_KEYS, RulesError, rules_from, setting_values
from routing.service import Applied, apply_table
from tabular import MB, Limits, Problem, Table, TableFile, Unreadable, Wording


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    required: bool = False


TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "units": ("单位", (
        Column("name", "名称", True), Column("kind", "类型"), Column("aliases", "别名"),
        Column("contact_name", "经办人"), Column("contact_phone", "经办人电话"),
        Column("head_name", "负责人"), Column("head_phone", "负责人电话"),
    )),
    "categories": ("诉求类别", (
        Column("code", "编码", True), Column("name", "名称", True), Column("lead_unit", "牵头单位", True),
        Column("units", "责任单位"), Column("keywords", "关键词"), Column("description", "说明"),
        Column("seed_task", "对应任务"), Column("asks_place", "询问地点"),
    )),
    "time_limits": ("办理时限", (
        Column("category", "类别", True), Column("urgency", "紧急程度", True), Column("sign", "签收"),
        Column("contact", "联系企业"), Column("reply", "答复"),
    )),
    "calendar": ("节假日", (Column("date", "日期", True), Column("workday", "上班", True), Column("name", "名称"))),
    "settings": ("参数", (Column("key", "参数", True), Column("value", "值", True), Column("note", "说明"))),
}  # fmt: skip
KINDS = {"department": "区级部门", "street": "街道办事处", "court": "法院", "office": "督办机构"}
YES = {"是", "上班", "工作日", "true", "yes", "y", "1", "√"}
NO = {"否", "休息", "休", "放假", "false", "no", "n", "0", ""}
SEPARATORS = (";", "；", "、", ",", "，", "\n")
LIMITS = Limits(max_bytes=20 * MB)
# The words operators have always been told; the policy list's importer words some of these refusals at more length.
WORDING = Wording(
    unsupported="不支持的文件格式：请使用 .xlsx / .csv / .json",
    too_large="文件超过 {limit_mb} MB",
    empty="文件中没有任何数据",
    not_xlsx="扩展名是 .xlsx，但内容不是 Excel 工作簿",
    unpacked="解压后过大，拒绝读取",
    undecodable="无法识别文件编码，请另存为“CSV UTF-8（逗号分隔）”",
    json_encoding="JSON 文件须为 UTF-8 编码",
    json_syntax="JSON 格式错误：{reason}",
    json_line_as_row=True,
)


class ImportRefused(Exception):
    """The import was refused; `problems` says where and why (nothing was applied)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def split_list(value: Any) -> list[str]:
    """'a;b、c' or a JSON list → ['a', 'b', 'c']."""
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    parts = [str(value or "")]
    for separator in SEPARATORS:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [part.strip() for part in parts if part.strip()]


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    return True if text in YES else False if text in NO else None


class Reader:
    """Turns a file's tables into the routing table's records, collecting every problem on the way."""

    def __init__(self, file: str, *, unit: str = "行") -> None:
        self.file = file
        self.unit = unit
        self.problems: list[Problem] = []
        # The sheet each table came from (an .xlsx names it; a .csv or .json has none).
        self.sheets: dict[str, str | None] = {}

    def problem(
        self, message: str, *, sheet: str | None = None, row: int | None = None, column: str | None = None
    ) -> None:
        self.problems.append(Problem(self.file, message, sheet=sheet, row=row, column=column, unit=self.unit))

    def sheet_records(self, sheet: Table, table: str, name: str | None) -> list[tuple[int, dict[str, Any]]]:
        """The records of a sheet by column key, with their row numbers; header problems recorded."""
        _, columns = TABLES[table]
        by_header = {name: column for column in columns for name in (column.label, column.key)}
        keys: list[str | None] = []
        for header in sheet.header:
            column = by_header.get(header)
            if column is None and header:
                known = "、".join(column.label for column in columns)
                self.problem(f"未知的列「{header}」（可用的列：{known}）", sheet=name, row=1, column=header)
            keys.append(column.key if column else None)
        for column in columns:
            if column.required and column.key not in keys:
                self.problem(f"缺少必填列「{column.label}」", sheet=name, row=1)
        records = []
        for number, cells in sheet.rows:
            record = {key: cell for key, cell in zip(keys, cells, strict=False) if key is not None}
            records.append((number, record))
        return records


def _table_of(sheet: Table) -> str | None:
    """Which table a sheet holds: by its name, else by its required columns."""
    for table, (label, _) in TABLES.items():
        if sheet.name in (label, table):
            return table
    headers = set(sheet.header)
    best: tuple[int, str] | None = None
    for table, (_, columns) in TABLES.items():
        names = {name for column in columns for name in (column.label, column.key)}
        if all(column.label in headers or column.key in headers for column in columns if column.required):
            known = len(headers & names)  # the table that explains most of the header
            if best is None or known > best[0]:
                best = (known, table)
    return best[1] if best else None


def read_file(path: Path) -> tuple[dict[str, list[tuple[int, dict[str, Any]]]], Reader]:
    """Records by table from a file (row numbers as in the file; for JSON, the item's position)."""
    with TableFile(path, limits=LIMITS, wording=WORDING) as source:
        reader = Reader(source.file, unit=source.unit)
        if source.suffix == ".json":
            return _json_tables(source.document(), reader), reader
        tables: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        csv_file = source.suffix == ".csv"
        for sheet in source.tables():
            if not sheet.header:
                continue
            kind = _table_of(sheet)
            name = None if csv_file else sheet.name
            if kind is None:
                what = "表头应为某一张表的列" if csv_file else "工作表名应为 单位 / 诉求类别 / 办理时限 / 节假日 / 参数"
                reader.problem(f"无法识别这张表（{what}）", sheet=name, row=1)
                continue
            reader.sheets[kind] = name
            tables[kind] = reader.sheet_records(sheet, kind, name)
        return tables, reader


def _json_tables(document: Any, reader: Reader) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Records by table from a document shaped like default_table.json; settings as the 参数 table."""
    if not isinstance(document, Mapping):
        raise Unreadable(Problem(reader.file, 'JSON 顶层应为对象：{"units": [...], "categories": [...], ...}'))
    known = {*TABLES, *SETTING_KEYS, "source", "notes"}
    for key in document:
        if key not in known:
            reader.problem(f"未知的键「{key}」", column=str(key))
    tables: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for table in ("units", "categories", "time_limits", "calendar"):
        _, columns = TABLES[table]
        keys = {column.key for column in columns}
        records = []
        for position, item in enumerate(document.get(table) or [], start=1):
            if not isinstance(item, Mapping):
                reader.problem("每一项应为对象 {...}", row=position, column=table)
                continue
            for key in item:
                if key not in keys:
                    reader.problem(
                        f"未知的键「{key}」（可用：{'、'.join(sorted(keys))}）", row=position, column=f"{table}.{key}"
                    )
            records.append((position, dict(item)))
        tables[table] = records
    settings = [(0, {"key": key, "value": document[key]}) for key in SETTING_KEYS if key in document]
    if settings:
        tables["settings"] = settings
    return tables


def check(
    *, session: Session, tables: Mapping[str, list[tuple[int, dict[str, Any]]]], reader: Reader
) -> dict[str, Any]:
    """Validate records against each other and the database; the clean table (problems in reader)."""
    label_of = {(table, column.key): column.label for table, (_, columns) in TABLES.items() for column in columns}

    def bad(table: str, row: int, key: str | None, message: str) -> None:
        if reader.unit == "条":  # JSON: name the key path, e.g. categories.lead_unit
            column = f"{table}.{key}" if key and table != "settings" else key
        else:
            column = label_of.get((table, key), key) if key else None
        reader.problem(message, sheet=reader.sheets.get(table), row=row or None, column=column)

    out: dict[str, Any] = {}
    unit_names = set(session.scalars(select(Unit.name)))
    units = []
    for row, record in tables.get("units", []):
        name = str(record.get("name") or "").strip()
        if not name:
            bad("units", row, "name", "单位名称不能为空")
            continue
        kind = str(record.get("kind") or "department").strip()
        kind = next((code for code, label in KINDS.items() if kind in (code, label)), kind)
        if kind not in KINDS:
            bad("units", row, "kind", f"类型应为 {'、'.join(KINDS.values())} 之一")
        item: dict[str, Any] = {"name": name, "kind": kind}
        if "aliases" in record:
            item["aliases"] = split_list(record["aliases"])
        for key in ("contact_name", "contact_phone", "head_name", "head_phone"):
            if key in record:
                item[key] = str(record[key] or "").strip()
        units.append(item)
        unit_names.add(name)
    out["units"] = units
    codes = set(session.scalars(select(Category.code)))
    categories = []
    for row, record in tables.get("categories", []):
        code, name = str(record.get("code") or "").strip(), str(record.get("name") or "").strip()
        if not code or not name:
            bad("categories", row, "code" if not code else "name", "编码和名称不能为空")
            continue
        lead = str(record.get("lead_unit") or "").strip()
        if lead not in unit_names:
            bad("categories", row, "lead_unit", f"没有名为「{lead}」的单位（请先在“单位”表中添加）")
        co_units = split_list(record.get("units"))
        for unit in co_units:
            if unit not in unit_names:
                bad("categories", row, "units", f"没有名为「{unit}」的单位")
        asks = _truth(record.get("asks_place"))
        if asks is None:
            bad("categories", row, "asks_place", "应填 是 或 否")
        categories.append(
            {
                "code": code,
                "name": name,
                "lead_unit": lead,
                "units": co_units,
                "keywords": split_list(record.get("keywords")),
                "description": str(record.get("description") or ""),
                "seed_task": str(record.get("seed_task") or ""),
                "asks_place": bool(asks),
            }
        )
        codes.add(code)
    out["categories"] = categories
    settings = dict(setting_values(session=session))
    setting_rows: dict[str, int] = {}
    for row, record in tables.get("settings", []):
        key, value = str(record.get("key") or "").strip(), record.get("value")
        if key not in SETTING_KEYS:
            bad("settings", row, "key", f"未知的参数「{key}」（可用：{'、'.join(SETTING_KEYS)}）")
            continue
        structured = isinstance(value, str) and value.strip()[:1] in ("[", "{")
        if structured or key in {"max_returns", "reply_max_days", "digest_minutes"}:
            try:
                value = json.loads(value) if isinstance(value, str) else value
            except json.JSONDecodeError as exc:
                bad("settings", row, "value", f"值应为 JSON：{exc.msg}")
                continue
        settings[key], setting_rows[key] = value, row
        out[key] = value
    if tables.get("settings"):
        try:
            rules = rules_from(settings)
        except RulesError as exc:
            named = next((name for name in setting_rows if name in str(exc)), "")
            bad("settings", setting_rows.get(named, 0), "value", str(exc))
            rules = None
    else:
        try:
            rules = rules_from(settings) if settings else None
        except RulesError:
            rules = None
    urgencies = {item.code: item.name for item in rules.urgencies} if rules else {"normal": "一般", "urgent": "紧急"}
    limits = []
    for row, record in tables.get("time_limits", []):
        category = str(record.get("category") or "").strip()
        category = "*" if category in {"*", "全部", "所有类别"} else category
        if category != "*" and category not in codes:
            bad("time_limits", row, "category", f"没有编码为「{category}」的类别（所有类别请填 *）")
        urgency = str(record.get("urgency") or "").strip()
        urgency = next((code for code, label in urgencies.items() if urgency in (code, label)), urgency)
        if urgency not in urgencies:
            bad("time_limits", row, "urgency", f"紧急程度应为 {'、'.join(urgencies.values())} 之一")
        item = {"category": category, "urgency": urgency}
        for stage in ("sign", "contact", "reply"):
            if record.get(stage) not in (None, ""):
                try:
                    parse_limit(str(record[stage]))
                    item[stage] = str(record[stage]).strip()
                except LimitError as exc:
                    bad("time_limits", row, stage, str(exc))
        limits.append(item)
    out["time_limits"] = limits
    days = []
    for row, record in tables.get("calendar", []):
        raw = record.get("date")
        try:
            day = (
                raw.date()
                if isinstance(raw, datetime)
                else raw
                if isinstance(raw, date)
                else date.fromisoformat(str(raw).strip().replace("/", "-"))
            )
        except ValueError:
            bad("calendar", row, "date", f"日期「{raw}」应写成 YYYY-MM-DD")
            continue
        workday = _truth(record.get("workday"))
        if workday is None:
            bad("calendar", row, "workday", "应填 上班 或 休息")
            continue
        days.append({"date": day.isoformat(), "workday": workday, "name": str(record.get("name") or "")})
    if days:
        out["calendar"] = days
    return out


def import_file(*, session: Session, path: Path, now: datetime | None = None) -> Applied:
    """Read, check and apply a routing table file; ImportRefused (nothing applied) lists every problem."""
    try:
        tables, reader = read_file(path)
    except Unreadable as exc:
        raise ImportRefused([exc.problem]) from None
    if not any(tables.values()) and not reader.problems:
        reader.problem("文件中没有任何数据")
    table = check(session=session, tables=tables, reader=reader)
    if reader.problems:
        raise ImportRefused(reader.problems)
    return apply_table(session=session, table=table, now=now)
