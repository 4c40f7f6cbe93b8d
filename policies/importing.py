"""Read a policy list file (.xlsx, .csv, .json), validate every row, and plan or apply the upsert by code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enterprises.vocabulary import Vocabulary
from policies.columns import BY_KEY, COLUMNS, DEFAULT_VOCABULARY, FieldError, clean_record, header_key, label
from tabular import MB, Limits, Problem, Table, TableFile, Unreadable, is_blank

# A district's list with long texts is a few MB; see README "policy list import".
LIMITS = Limits(max_bytes=20 * MB, max_rows=20_000)
MAX_BYTES = LIMITS.max_bytes  # the console stops saving an upload here


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
    vocabulary: Vocabulary = DEFAULT_VOCABULARY  # the tag terms the rows are checked against

    def problem(self, message: str, row: int | None = None, column: str | None = None) -> Problem:
        """A problem in this file."""
        return Problem(self.file, message, row=row, column=column, unit=self.unit)

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


def _policy_table(source: TableFile) -> Table:
    """The first sheet of an .xlsx, the .csv, or the records of a .json (an array, or {"policies": [...]})."""
    if source.suffix != ".json":
        return source.table()
    data = source.document()
    records = data.get("policies") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise Unreadable(source.problem('JSON 应为政策数组，或含 "policies" 数组的对象'))
    return source.records(records)


def _header(cells: list[str], parsed: Parsed, row: int | None) -> dict[int, str]:
    positions: dict[int, str] = {}
    unknown = []
    for index, header in enumerate(cells):
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


def read_file(
    path: Path,
    *,
    name: str | None = None,
    progress: Callable[[int], None] | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
) -> Parsed:
    """Read and validate a whole file without touching the database; never raises for bad content."""
    with TableFile(path, name=name, limits=LIMITS) as source:
        parsed = Parsed(file=source.file, unit=source.unit, vocabulary=vocabulary)
        try:
            _collect(_policy_table(source), parsed, progress)
        except Unreadable as refused:
            parsed.problems = [refused.problem]
            parsed.rows = []
        parsed.encoding = source.encoding
    return parsed


def _collect(table: Table, parsed: Parsed, progress: Callable[[int], None] | None) -> None:
    if not table.header:
        parsed.problems.append(parsed.problem("文件里没有表头，也没有政策"))
        return
    # A JSON file's header is made up from its keys: it has no row to name.
    positions = _header(table.header, parsed, table.header_row if parsed.unit == "行" else None)
    if parsed.problems:
        return
    seen: dict[str, int] = {}
    for number, values in table.rows:
        stray = [index for index, value in enumerate(values) if index not in positions and not is_blank(value)]
        row = Row(number=number, raw={key: values[index] for index, key in positions.items() if index < len(values)})
        for index in stray[:1]:
            row.problems.append(parsed.problem("这一列有内容但没有表头", number, f"第 {index + 1} 列"))
        _check_row(row, parsed, seen)
        parsed.rows.append(row)
        if progress:
            progress(1)
    if not parsed.rows:
        parsed.problems.append(parsed.problem("文件只有表头，没有政策"))


def _check_row(row: Row, parsed: Parsed, seen: dict[str, int]) -> None:
    record, errors = clean_record(row.raw, parsed.vocabulary)
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
