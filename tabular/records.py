"""One table of records with named columns: the header mapped to keys, every row checked, every problem placed.

For importers whose file is one table (enterprise profiles, 兑现 records): the caller gives the columns and a
function that cleans one row's cells; this reads the first sheet of an .xlsx, a .csv, or a .json array of
objects, and names every problem by file, row and column. Nothing here knows what the columns mean.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabular.cells import is_blank
from tabular.limits import Limits
from tabular.problems import Problem, Unreadable
from tabular.reading import Table, TableFile


@dataclass(frozen=True)
class Field:
    """A column: its key (the English alias), its Chinese header, other accepted headers, and if it is required."""

    key: str
    header: str
    required: bool = False
    aliases: tuple[str, ...] = ()


class CellError(ValueError):
    """One cell cannot be used; `key` is its column."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass
class Record:
    """One data row: its number, its cells by key, the clean values (when valid) and its problems."""

    number: int
    raw: dict[str, Any]
    clean: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Records:
    """A file read and checked: its records, the problems of the file itself, and the headers it used."""

    file: str
    unit: str = "行"
    rows: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # key -> the header as written
    encoding: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing is refused."""
        return not self.problems and all(not row.problems for row in self.rows)

    def all_problems(self) -> list[Problem]:
        """File-level problems, then every row's, in row order."""
        return [*self.problems, *(problem for row in self.rows for problem in row.problems)]

    def clean(self) -> list[dict[str, Any]]:
        """The clean values of the valid rows, each with its row number as "_row"."""
        return [{**row.clean, "_row": row.number} for row in self.rows if row.clean is not None]


Cleaner = Callable[[Mapping[str, Any]], tuple[dict[str, Any], list[CellError]]]


def header_key(header: str, fields: Sequence[Field]) -> str | None:
    """The key of a header as written (Chinese, English alias or another accepted name; a trailing * allowed)."""
    text = unicodedata.normalize("NFKC", str(header)).strip().rstrip("*").strip()
    for column in fields:
        if text in {column.header, *column.aliases} or text.lower() == column.key:
            return column.key
    return None


def read_records(
    path: Path,
    *,
    fields: Sequence[Field],
    clean: Cleaner,
    limits: Limits,
    noun: str,
    key: str | None = None,
    name: str | None = None,
) -> Records:
    """Read and check a whole file; `key` names the column whose values must not repeat. Never raises."""
    with TableFile(path, name=name, limits=limits) as source:
        records = Records(file=source.file, unit=source.unit)
        try:
            table = _table(source, noun)
            _collect(table, records, fields, clean, key, noun)
        except Unreadable as refused:
            records.problems, records.rows = [refused.problem], []
        records.encoding = source.encoding
    return records


def _table(source: TableFile, noun: str) -> Table:
    if source.suffix != ".json":
        return source.table()
    data = source.document()
    if not isinstance(data, list):
        raise Unreadable(source.problem(f"JSON 应为{noun}数组"))
    return source.records(data)


def _problem(records: Records, message: str, row: int | None = None, column: str | None = None) -> Problem:
    return Problem(records.file, message, row=row, column=column, unit=records.unit)


def _collect(
    table: Table, records: Records, fields: Sequence[Field], clean: Cleaner, key: str | None, noun: str
) -> None:
    if not table.header:
        records.problems.append(_problem(records, f"文件里没有表头，也没有{noun}"))
        return
    positions = _header(table, records, fields)
    if records.problems:
        return
    seen: dict[Any, int] = {}
    labels = {column.key: column.header for column in fields}
    for number, values in table.rows:
        cells = {name: values[index] if index < len(values) else None for index, name in positions.items()}
        row = Record(number, cells)
        stray = [index for index, value in enumerate(values) if index not in positions and not is_blank(value)]
        for index in stray[:1]:
            row.problems.append(_problem(records, "这一列有内容但没有表头", number, f"第 {index + 1} 列"))
        values_clean, errors = clean(row.raw)
        for error in errors:
            column = records.headers.get(error.key) or labels.get(error.key, error.key)
            row.problems.append(_problem(records, error.message, number, column))
        unique = values_clean.get(key) if key else None
        if unique is not None and unique in seen:
            message = f"「{unique}」与第 {seen[unique]} {records.unit}重复"
            row.problems.append(_problem(records, message, number, records.headers.get(str(key))))
        elif unique is not None:
            seen[unique] = number
        if not row.problems:
            row.clean = {name: value for name, value in values_clean.items() if name in records.headers}
        records.rows.append(row)
    if not records.rows:
        records.problems.append(_problem(records, f"文件只有表头，没有{noun}"))


def _header(table: Table, records: Records, fields: Sequence[Field]) -> dict[int, str]:
    row = table.header_row if records.unit == "行" else None
    positions: dict[int, str] = {}
    for index, header in enumerate(table.header):
        if not header:
            continue
        found = header_key(header, fields)
        if found is None:
            known = "、".join(column.header for column in fields)
            records.problems.append(
                _problem(records, f"未知的列「{header}」；可用的列：{known}（或其英文名）", row, header)
            )
        elif found in records.headers:
            records.problems.append(_problem(records, "与前面的列重复", row, header))
        else:
            positions[index] = found
            records.headers[found] = header
    for column in fields:
        if column.required and column.key not in records.headers:
            records.problems.append(
                _problem(records, f"缺少必填列「{column.header}」({column.key})", row, column.header)
            )
    return positions
