"""Tables in files: read and write .xlsx (one sheet per table), .csv (one table) and .json (the table's shape).

Only cells and positions here; what the columns mean is routing.importing's business. A problem names
the file, the sheet, the row as the spreadsheet numbers it, and the column.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_BYTES = 20 * 1024 * 1024
MAX_UNPACKED = 200 * 1024 * 1024
FORMATS = (".xlsx", ".csv", ".json")


@dataclass(frozen=True)
class Problem:
    """What is wrong, and where."""

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    unit: str = "行"  # a JSON file has items (条), not rows

    def __str__(self) -> str:
        where = [f"文件 {self.file}"]
        if self.sheet:
            where.append(f"工作表「{self.sheet}」")
        if self.row is not None:
            where.append(f"第 {self.row} {self.unit}")
        if self.column:
            where.append(f"列「{self.column}」")
        return "，".join(where) + f"：{self.message}"


class Unreadable(Exception):
    """The file cannot be read at all."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass
class Sheet:
    """One table of a file: its name, header and data rows (with their numbers in the file)."""

    name: str
    header: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def _cells(values: Sequence[Any]) -> list[Any]:
    cells = [value.strip() if isinstance(value, str) else value for value in values]
    while cells and cells[-1] in (None, ""):
        cells.pop()
    return cells


def _table(name: str, lines: list[list[Any]]) -> Sheet:
    numbered = [(number, _cells(line)) for number, line in enumerate(lines, start=1)]
    numbered = [(number, cells) for number, cells in numbered if cells]
    if not numbered:
        return Sheet(name, [])
    (_, header), *rows = numbered
    return Sheet(name, [str(cell or "").strip().lstrip("\ufeff") for cell in header], rows)


def read_tables(path: Path) -> list[Sheet]:
    """The tables of an .xlsx or .csv file; Unreadable when it is not one."""
    name = path.name
    if path.suffix.lower() not in FORMATS[:2]:
        raise Unreadable(Problem(name, f"不支持的文件格式：请使用 {' / '.join(FORMATS)}"))
    if not path.is_file():
        raise Unreadable(Problem(name, "文件不存在"))
    if path.stat().st_size > MAX_BYTES:
        raise Unreadable(Problem(name, f"文件超过 {MAX_BYTES // 1024 // 1024} MB"))
    if path.suffix.lower() == ".csv":
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")  # Excel's "CSV (逗号分隔)" on Chinese Windows
            except UnicodeDecodeError:
                raise Unreadable(Problem(name, "无法识别文件编码，请另存为“CSV UTF-8（逗号分隔）”")) from None
        try:
            return [_table(path.stem, list(csv.reader(io.StringIO(text, newline=""))))]
        except csv.Error as exc:
            raise Unreadable(Problem(name, f"CSV 格式错误：{exc}")) from None
    if not zipfile.is_zipfile(path):
        raise Unreadable(Problem(name, "扩展名是 .xlsx，但内容不是 Excel 工作簿"))
    with zipfile.ZipFile(path) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
            raise Unreadable(Problem(name, "解压后过大，拒绝读取"))
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Unreadable(Problem(name, f"Excel 文件已损坏或无法读取（{type(exc).__name__}）")) from None
    try:
        return [_table(sheet.title, [list(row) for row in sheet.iter_rows(values_only=True)])
                for sheet in workbook.worksheets]
    finally:
        workbook.close()


def read_json(path: Path) -> Any:
    """The parsed JSON document; Unreadable names the line of a syntax error."""
    if not path.is_file():
        raise Unreadable(Problem(path.name, "文件不存在"))
    if path.stat().st_size > MAX_BYTES:
        raise Unreadable(Problem(path.name, f"文件超过 {MAX_BYTES // 1024 // 1024} MB"))
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise Unreadable(Problem(path.name, "JSON 文件须为 UTF-8 编码")) from None
    except json.JSONDecodeError as exc:
        raise Unreadable(Problem(path.name, f"JSON 格式错误：{exc.msg}", row=exc.lineno)) from None


def write_tables(path: Path, sheets: Sequence[Sheet]) -> None:
    """Write tables: every sheet to an .xlsx, or the first one to a .csv (UTF-8 with BOM, for Excel)."""
    if path.suffix.lower() == ".csv":
        sheet = sheets[0]
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(sheet.header)
            writer.writerows(cells for _, cells in sheet.rows)
        return
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet.name)
        worksheet.append(sheet.header)
        for cell in worksheet[1]:
            cell.font = Font(bold=True)
        for _, cells in sheet.rows:
            worksheet.append(cells)
        worksheet.freeze_panes = "A2"
    workbook.save(path)
