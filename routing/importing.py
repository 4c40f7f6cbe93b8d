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
from routing.models import Category, Stage, Unit
from routing.rules import SETTING_KEYS, Rules, RulesError, rules_from, setting_values
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
LABELS = {(table, column.key): column.label for table, (_, columns) in TABLES.items() for column in columns}
KINDS = {"department": "区级部门", "street": "街道办事处", "court": "法院", "office": "督办机构"}
YES = {"是", "上班", "工作日", "true", "yes", "y", "1", "√"}
NO = {"否", "休息", "休", "放假", "false", "no", "n", "0", ""}
# Settings whose text is always JSON (numbers); other settings are JSON when they start with [ or {.
JSON_SETTINGS = {
    "max_returns", "reply_max_days", "digest_minutes", "resume_on_supplement", "rating_reminder_hours",
    "handoff_reply_minutes",
}  # fmt: skip
# The urgencies time limits may use while no valid settings are known.
DEFAULT_URGENCIES = {"normal": "一般", "urgent": "紧急"}
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


# A table's records by column key, each with its row number in the file (for JSON, the item's position).
Records = list[tuple[int, dict[str, Any]]]


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

    def field_problem(self, table: str, row: int, key: str | None, message: str) -> None:
        """A problem with one field of a record, named as the file names it (JSON: the key path)."""
        if self.unit == "条":  # JSON: name the key path, e.g. categories.lead_unit
            column = f"{table}.{key}" if key and table != "settings" else key
        else:
            column = LABELS.get((table, key), key) if key else None
        self.problem(message, sheet=self.sheets.get(table), row=row or None, column=column)

    def sheet_records(self, sheet: Table, table: str, name: str | None) -> Records:
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


def read_file(path: Path) -> tuple[dict[str, Records], Reader]:
    """Records by table from a file (row numbers as in the file; for JSON, the item's position)."""
    with TableFile(path, limits=LIMITS, wording=WORDING) as source:
        reader = Reader(source.file, unit=source.unit)
        if source.suffix == ".json":
            return _json_tables(source.document(), reader), reader
        tables: dict[str, Records] = {}
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


def _json_tables(document: Any, reader: Reader) -> dict[str, Records]:
    """Records by table from a document shaped like default_table.json; settings as the 参数 table."""
    if not isinstance(document, Mapping):
        raise Unreadable(Problem(reader.file, 'JSON 顶层应为对象：{"units": [...], "categories": [...], ...}'))
    known = {*TABLES, *SETTING_KEYS, "source", "notes"}
    for key in document:
        if key not in known:
            reader.problem(f"未知的键「{key}」", column=str(key))
    tables: dict[str, Records] = {}
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


def check(*, session: Session, tables: Mapping[str, Records], reader: Reader) -> dict[str, Any]:
    """Validate records against each other and the database; the clean table (problems in reader)."""
    units = _check_units(tables.get("units", []), reader)
    unit_names = set(session.scalars(select(Unit.name))) | {unit["name"] for unit in units}
    categories = _check_categories(tables.get("categories", []), reader, unit_names=unit_names)
    codes = set(session.scalars(select(Category.code))) | {category["code"] for category in categories}
    settings = _check_settings(tables.get("settings", []), reader)
    urgencies = _urgencies(
        stored=setting_values(session=session), imported=settings, given=bool(tables.get("settings")), reader=reader
    )
    limits = _check_time_limits(tables.get("time_limits", []), reader, codes=codes, urgencies=urgencies)
    days = _check_calendar(tables.get("calendar", []), reader)
    out: dict[str, Any] = {"units": units, "categories": categories}
    out.update((key, value) for key, (_, value) in settings.items())
    out["time_limits"] = limits
    if days:
        out["calendar"] = days
    return out


def _check_units(records: Records, reader: Reader) -> list[dict[str, Any]]:
    """The 单位 table's units (a nameless row is left out)."""
    units = []
    for row, record in records:
        unit = _unit(row, record, reader)
        if unit is not None:
            units.append(unit)
    return units


def _unit(row: int, record: dict[str, Any], reader: Reader) -> dict[str, Any] | None:
    name = str(record.get("name") or "").strip()
    if not name:
        reader.field_problem("units", row, "name", "单位名称不能为空")
        return None
    kind = str(record.get("kind") or "department").strip()
    kind = next((code for code, label in KINDS.items() if kind in (code, label)), kind)
    if kind not in KINDS:
        reader.field_problem("units", row, "kind", f"类型应为 {'、'.join(KINDS.values())} 之一")
    unit: dict[str, Any] = {"name": name, "kind": kind}
    if "aliases" in record:
        unit["aliases"] = split_list(record["aliases"])
    for key in ("contact_name", "contact_phone", "head_name", "head_phone"):
        if key in record:
            unit[key] = str(record[key] or "").strip()
    return unit


def _check_categories(records: Records, reader: Reader, *, unit_names: set[str]) -> list[dict[str, Any]]:
    """The 诉求类别 table's categories; their units must exist (in the database or the file)."""
    categories = []
    for row, record in records:
        category = _category(row, record, reader, unit_names=unit_names)
        if category is not None:
            categories.append(category)
    return categories


def _category(row: int, record: dict[str, Any], reader: Reader, *, unit_names: set[str]) -> dict[str, Any] | None:
    code, name = str(record.get("code") or "").strip(), str(record.get("name") or "").strip()
    if not code or not name:
        reader.field_problem("categories", row, "code" if not code else "name", "编码和名称不能为空")
        return None
    lead = str(record.get("lead_unit") or "").strip()
    if lead not in unit_names:
        reader.field_problem("categories", row, "lead_unit", f"没有名为「{lead}」的单位（请先在“单位”表中添加）")
    co_units = split_list(record.get("units"))
    for unit in co_units:
        if unit not in unit_names:
            reader.field_problem("categories", row, "units", f"没有名为「{unit}」的单位")
    asks = _truth(record.get("asks_place"))
    if asks is None:
        reader.field_problem("categories", row, "asks_place", "应填 是 或 否")
    return {
        "code": code,
        "name": name,
        "lead_unit": lead,
        "units": co_units,
        "keywords": split_list(record.get("keywords")),
        "description": str(record.get("description") or ""),
        "seed_task": str(record.get("seed_task") or ""),
        "asks_place": bool(asks),
    }


def _check_settings(records: Records, reader: Reader) -> dict[str, tuple[int, Any]]:
    """The 参数 table's values by key, each with its row; unknown keys and bad JSON are problems."""
    settings: dict[str, tuple[int, Any]] = {}
    for row, record in records:
        key, value = str(record.get("key") or "").strip(), record.get("value")
        if key not in SETTING_KEYS:
            reader.field_problem("settings", row, "key", f"未知的参数「{key}」（可用：{'、'.join(SETTING_KEYS)}）")
            continue
        try:
            settings[key] = (row, _setting_value(key, value))
        except json.JSONDecodeError as exc:
            reader.field_problem("settings", row, "value", f"值应为 JSON：{exc.msg}")
    return settings


def _setting_value(key: str, value: Any) -> Any:
    """A setting's value as stored: JSON text (a list, an object, or a number setting) decoded."""
    structured = isinstance(value, str) and value.strip()[:1] in ("[", "{")
    if structured or key in JSON_SETTINGS:
        return json.loads(value) if isinstance(value, str) else value
    return value


def _urgencies(
    *, stored: dict[str, Any], imported: dict[str, tuple[int, Any]], given: bool, reader: Reader
) -> dict[str, str]:
    """The urgency names by code that time limits may use: from the settings as they will be after the import."""
    values = {**stored, **{key: value for key, (_, value) in imported.items()}}
    rules = _rules(values, imported, reader) if given else _stored_rules(values)
    return {item.code: item.name for item in rules.urgencies} if rules else dict(DEFAULT_URGENCIES)


def _rules(values: dict[str, Any], imported: dict[str, tuple[int, Any]], reader: Reader) -> Rules | None:
    """The rules the imported settings make; when they do not hold, a problem on the row named in the reason."""
    try:
        return rules_from(values)
    except RulesError as exc:
        named = next((name for name in imported if name in str(exc)), "")
        reader.field_problem("settings", imported[named][0] if named else 0, "value", str(exc))
        return None


def _stored_rules(values: dict[str, Any]) -> Rules | None:
    """The rules the stored settings make (none stored, or not valid: None)."""
    try:
        return rules_from(values) if values else None
    except RulesError:
        return None


def _check_time_limits(
    records: Records, reader: Reader, *, codes: set[str], urgencies: dict[str, str]
) -> list[dict[str, Any]]:
    """The 办理时限 table's rows, by category (or * for all) and urgency, with the limits of their stages."""
    limits = []
    for row, record in records:
        category = str(record.get("category") or "").strip()
        category = "*" if category in {"*", "全部", "所有类别"} else category
        if category != "*" and category not in codes:
            reader.field_problem("time_limits", row, "category", f"没有编码为「{category}」的类别（所有类别请填 *）")
        urgency = str(record.get("urgency") or "").strip()
        urgency = next((code for code, label in urgencies.items() if urgency in (code, label)), urgency)
        if urgency not in urgencies:
            reader.field_problem("time_limits", row, "urgency", f"紧急程度应为 {'、'.join(urgencies.values())} 之一")
        limits.append({"category": category, "urgency": urgency, **_stage_limits(row, record, reader)})
    return limits


def _stage_limits(row: int, record: dict[str, Any], reader: Reader) -> dict[str, str]:
    """The filled-in stage limits of a 办理时限 row (签收, 联系企业, 答复) that can be read."""
    stages: dict[str, str] = {}
    for stage in (Stage.SIGN, Stage.CONTACT, Stage.REPLY):
        if record.get(stage) not in (None, ""):
            try:
                parse_limit(str(record[stage]))
                stages[stage] = str(record[stage]).strip()
            except LimitError as exc:
                reader.field_problem("time_limits", row, stage, str(exc))
    return stages


def _check_calendar(records: Records, reader: Reader) -> list[dict[str, Any]]:
    """The 节假日 table's days (a row with a bad date or workday is left out)."""
    days = []
    for row, record in records:
        raw = record.get("date")
        try:
            day = _day(raw)
        except ValueError:
            reader.field_problem("calendar", row, "date", f"日期「{raw}」应写成 YYYY-MM-DD")
            continue
        workday = _truth(record.get("workday"))
        if workday is None:
            reader.field_problem("calendar", row, "workday", "应填 上班 或 休息")
            continue
        days.append({"date": day.isoformat(), "workday": workday, "name": str(record.get("name") or "")})
    return days


def _day(raw: Any) -> date:
    """A cell's date: a date or datetime as it is, text as YYYY-MM-DD (or YYYY/MM/DD); ValueError otherwise."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    return date.fromisoformat(str(raw).strip().replace("/", "-"))


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
