"""Read a policy list file (.xlsx, .csv, .json), validate every row, and plan or apply the upsert by code."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.columns import BY_KEY, COLUMNS, FieldError, clean_record, header_key, label, text_value

MAX_BYTES = 20 * 1024 * 1024  # a district's list with long texts is a few MB; see README "policy list import"
MAX_ROWS = 20_000
MAX_UNPACKED = 200 * 1024 * 1024  # an .xlsx is a zip: refuse one that unpacks to more than this
FORMATS = (".xlsx", ".csv", ".json")
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Problem:
    """Why (part of) a file is refused, and where: file, row (as the spreadsheet numbers it) and column."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    unit: str = "行"  # a JSON file has records (条), not rows

    def __str__(self) -> str:
        where = [f"文件 {self.file}"]
        if self.row is not None:
            where.append(f"第 {self.row} {self.unit}")
        if self.column:
            where.append(f"列「{self.column}」")
        return "，".join(where) + f"：{self.message}"


@dataclass
class Row:
    """One data row: where it is, its cells by column key, the clean record (if valid) and its errors."""

    number: int
    raw: dict[str, Any]
    record: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Parsed:
    """A file read and checked: its rows, file-level problems (header, size, format) and how it was decoded."""

    file: str
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    encoding: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # column key -> the header as written in the file
    unit: str = "行"

    def problem(self, message: str, row: int | None = None, column: str | None = None) -> Problem:
        """A problem in this file."""
        return Problem(self.file, message, row, column, self.unit)

    @property
    def ok(self) -> bool:
        """True when nothing at all is refused."""
        return not self.problems and all(not row.problems for row in self.rows)

    def all_problems(self) -> list[Problem]:
        """File-level problems, then every row's, in row order."""
        return [*self.problems, *(problem for row in self.rows for problem in row.problems)]

    def records(self) -> list[dict[str, Any]]:
        """The clean records of the valid rows."""
        return [row.record for row in self.rows if row.record is not None]


class Refused(Exception):
    """The file cannot be read at all; the problem says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _xlsx_rows(path: Path, name: str) -> Iterator[list[Any]]:
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == XLS_MAGIC:
        raise Refused(Problem(name, "这是旧版 Excel 97-2003 (.xls) 文件：请在 Excel 中“另存为 → Excel 工作簿 (.xlsx)”"))
    if magic != ZIP_MAGIC or not zipfile.is_zipfile(path):
        raise Refused(Problem(name, "扩展名是 .xlsx，但内容不是 Excel 工作簿（可能是改了扩展名的其他文件）"))
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            raise Refused(Problem(name, "这个 .xlsx 里没有工作簿（xl/workbook.xml），不是 Excel 文件"))
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
            raise Refused(Problem(name, f"解压后超过 {MAX_UNPACKED // 1024 // 1024} MB，拒绝读取"))
    import openpyxl  # only when an .xlsx is read: it takes a moment to import

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Refused(Problem(name, f"Excel 文件已损坏或无法读取（{type(exc).__name__}）")) from None
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def decode_csv(data: bytes, name: str) -> tuple[str, str]:
    """The text of a CSV file and the encoding used: UTF-8 (BOM allowed), UTF-16 with BOM, or Excel's GBK."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves "CSV (逗号分隔)" in the ANSI code page, GBK; GB18030 is its superset.
        return data.decode("gb18030"), "GBK"
    except UnicodeDecodeError:
        raise Refused(
            Problem(name, "无法识别文件编码：请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）(*.csv)”后重新导入")
        ) from None


def _csv_rows(path: Path, name: str, parsed: Parsed) -> Iterator[list[Any]]:
    data = path.read_bytes()
    if data[:4] in (ZIP_MAGIC, XLS_MAGIC):
        raise Refused(Problem(name, "扩展名是 .csv，但内容是 Excel 工作簿：请改用 .xlsx 扩展名，或另存为 CSV UTF-8"))
    text, parsed.encoding = decode_csv(data, name)
    if "\x00" in text:
        raise Refused(Problem(name, "文件含有二进制内容，不是 CSV 文本"))
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise Refused(Problem(name, f"CSV 格式错误：{exc}")) from None


def _json_rows(path: Path, name: str) -> Iterator[list[Any]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(Problem(name, f"不是有效的 UTF-8 JSON：{exc}")) from None
    records = data.get("policies") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise Refused(Problem(name, 'JSON 应为政策数组，或含 "policies" 数组的对象'))
    headers: list[str] = []
    for record in records:
        if isinstance(record, dict):
            headers += [str(key) for key in record if str(key) not in headers]
    yield headers
    for record in records:
        yield [record.get(header) for header in headers] if isinstance(record, dict) else [record]


def _is_blank(values: list[Any]) -> bool:
    return all(text_value(value) == "" if not isinstance(value, dict | list) else not value for value in values)


def _header(values: list[Any], parsed: Parsed, number: int) -> dict[int, str]:
    row = number if parsed.unit == "行" else None
    positions: dict[int, str] = {}
    unknown = []
    for index, cell in enumerate(values):
        header = text_value(cell)
        if not header:
            continue
        key = header_key(header)
        if key is None:
            unknown.append(header)
        elif key in parsed.headers:
            parsed.problems.append(parsed.problem("与前面的列重复", row, header))
        else:
            positions[index] = key
            parsed.headers[key] = header
    for header in unknown:
        known = "、".join(column.header for column in COLUMNS)
        parsed.problems.append(parsed.problem(f"未知的列「{header}」；可用的列：{known}（或其英文名）", row, header))
    for column in COLUMNS:
        if column.required and column.key not in parsed.headers:
            parsed.problems.append(parsed.problem(f"缺少必填列{label(column.key)}", row, column.header))
    return positions


def read_file(path: Path, *, name: str | None = None, progress: Callable[[int], None] | None = None) -> Parsed:
    """Read and validate a whole file without touching the database; never raises for bad content."""
    name = name or path.name
    suffix = Path(name).suffix.lower()
    parsed = Parsed(file=name, unit="条" if suffix == ".json" else "行")
    try:
        if suffix not in FORMATS:
            raise Refused(Problem(name, f"不支持的文件类型「{suffix or '无扩展名'}」：请用 .xlsx、.csv 或 .json"))
        size = path.stat().st_size
        if size > MAX_BYTES:
            limit = f"超过导入上限 {MAX_BYTES // 1024 // 1024} MB"
            raise Refused(Problem(name, f"文件有 {size / 1024 / 1024:.1f} MB，{limit}；请分批导入"))
        if size == 0:
            raise Refused(Problem(name, "文件是空的"))
        rows = {".xlsx": lambda: _xlsx_rows(path, name), ".json": lambda: _json_rows(path, name)}.get(
            suffix, lambda: _csv_rows(path, name, parsed)
        )()
        _collect(rows, parsed, progress)
    except Refused as refused:
        parsed.problems = [refused.problem]
        parsed.rows = []
    return parsed


def _collect(rows: Iterator[list[Any]], parsed: Parsed, progress: Callable[[int], None] | None) -> None:
    positions: dict[int, str] | None = None
    seen: dict[str, int] = {}
    shift = 1 if parsed.unit == "条" else 0  # a JSON file's first "row" is the header made up from its keys
    for position, values in enumerate(rows, start=1):
        number = position - shift
        if positions is None:
            if _is_blank(values):
                continue
            positions = _header(values, parsed, number)
            if parsed.problems:
                return
            continue
        if _is_blank(values):
            continue
        if len(parsed.rows) >= MAX_ROWS:
            raise Refused(parsed.problem(f"超过 {MAX_ROWS} 行，请分批导入", number))
        stray = [index for index, value in enumerate(values) if index not in positions and not _is_blank([value])]
        row = Row(number=number, raw={key: values[index] for index, key in positions.items() if index < len(values)})
        for index in stray[:1]:
            row.problems.append(parsed.problem("这一列有内容但没有表头", number, f"第 {index + 1} 列"))
        _check_row(row, parsed, seen)
        parsed.rows.append(row)
        if progress:
            progress(1)
    if positions is None:
        parsed.problems.append(parsed.problem("文件里没有表头，也没有政策"))
    elif not parsed.rows:
        parsed.problems.append(parsed.problem("文件只有表头，没有政策"))


def _check_row(row: Row, parsed: Parsed, seen: dict[str, int]) -> None:
    record, errors = clean_record(row.raw)
    for error in errors:
        row.problems.append(parsed.problem(error.message, row.number, _column_name(error, parsed)))
    code = record.get("code")
    if code and code in seen:
        row.problems.append(
            parsed.problem(f"编号「{code}」与第 {seen[code]} {parsed.unit}重复", row.number, parsed.headers["code"])
        )
    elif code:
        seen[code] = row.number
    if not row.problems:
        # A column the file does not have is left alone on existing policies (upsert only what is given).
        row.record = {key: value for key, value in record.items() if key in parsed.headers}


def _column_name(error: FieldError, parsed: Parsed) -> str:
    return parsed.headers.get(error.key) or BY_KEY[error.key].header
