"""Read tables from .xlsx (every sheet, or a named one), .csv and .json files, refusing what is not safe to read.

Nothing is read before the name and size are checked, so a 50 MB file is refused without being opened;
rows are read as they are consumed, so the row limit stops a long sheet where it is crossed.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tabular.cells import cell_text, trimmed, unescaped
from tabular.encodings import decode_text
from tabular.limits import MB, Limits
from tabular.problems import WORDING, Problem, Unreadable, Wording

FORMATS = (".xlsx", ".csv", ".json")
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
ZIP_MAGIC = b"PK\x03\x04"
Rows = Iterable[tuple[int, list[Any]]]


@dataclass
class Table:
    """One table: its name, header and data rows as (number, cells), numbered as the spreadsheet numbers them."""

    name: str  # the sheet's; a .csv's file name without its suffix
    header: list[str] = field(default_factory=list)
    # Blank rows are left out and text is stripped; for JSON records the number is the position.
    # Read from a file, the rows come as they are read and can be iterated once.
    rows: Rows = ()
    header_row: int | None = None


class TableFile:
    """A .xlsx, .csv or .json file to read; every refusal raises Unreadable naming the file."""

    def __init__(self, path: Path, *, limits: Limits, name: str | None = None, wording: Wording = WORDING) -> None:
        self.path = path
        self.file = name or path.name  # as the user knows it (an upload is saved under another name)
        self.suffix = Path(self.file).suffix.lower()
        self.unit = "条" if self.suffix == ".json" else "行"
        self.encoding = ""  # a .csv's, once it is decoded
        self.limits = limits
        self.wording = wording
        self._workbooks: list[Any] = []

    def __enter__(self) -> TableFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the workbook opened for reading, if any."""
        while self._workbooks:
            self._workbooks.pop().close()

    def problem(
        self, message: str, *, sheet: str | None = None, row: int | None = None, column: str | None = None
    ) -> Problem:
        """A problem in this file."""
        return Problem(self.file, message, sheet=sheet, row=row, column=column, unit=self.unit)

    def _refused(self, template: str, *, row: int | None = None, unit: str | None = None, **values: Any) -> Unreadable:
        return Unreadable(Problem(self.file, template.format(**values), row=row, unit=unit or self.unit))

    def _check(self) -> None:
        """Refuse the file from its name and size alone: an unknown type, no file, too large, or empty."""
        if self.suffix not in FORMATS:
            raise self._refused(self.wording.unsupported, suffix=self.suffix or "无扩展名")
        if not self.path.is_file():
            raise self._refused(self.wording.missing)
        size = self.path.stat().st_size
        if size > self.limits.max_bytes:
            raise self._refused(self.wording.too_large, size_mb=size / MB, limit_mb=self.limits.max_bytes // MB)
        if size == 0:
            raise self._refused(self.wording.empty)

    def tables(self, sheet: str | None = None) -> Iterator[Table]:
        """Every sheet of an .xlsx in order (or only the one named), or the one table of a .csv."""
        self._check()
        if self.suffix == ".json":
            raise ValueError("a .json file holds a document: read it with document() and records()")
        if self.suffix == ".csv":
            yield self._table(Path(self.file).stem, self._csv_lines())
            return
        workbook = self._workbook()
        if sheet is not None and sheet not in workbook.sheetnames:
            raise self._refused(self.wording.no_sheet, sheet=sheet)
        for worksheet in workbook.worksheets:
            if sheet is None or worksheet.title == sheet:
                yield self._table(worksheet.title, self._sheet_lines(worksheet))

    def table(self, sheet: str | None = None) -> Table:
        """The sheet named `sheet` of an .xlsx, else its first sheet; or the table of a .csv."""
        return next(self.tables(sheet))

    def document(self) -> Any:
        """The parsed .json document (UTF-8, a BOM allowed)."""
        self._check()
        if self.suffix != ".json":
            raise ValueError(f"{self.file} is not a .json file")
        try:
            text = self.path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise self._refused(self.wording.json_encoding, error=exc) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            row = exc.lineno if self.wording.json_line_as_row else None
            # The row of a syntax error is a line of the file, not a record.
            raise self._refused(self.wording.json_syntax, row=row, unit="行", error=exc, reason=exc.msg) from None

    def records(self, records: Sequence[Any], name: str = "") -> Table:
        """JSON records as a table: the header is every key in order of appearance, rows numbered from 1."""
        keys = list(dict.fromkeys(str(key) for record in records if isinstance(record, dict) for key in record))
        rows = ([record.get(key) for key in keys] if isinstance(record, dict) else [record] for record in records)
        return self._table(name, itertools.chain([keys], rows), start=0)

    def _table(self, name: str, lines: Iterable[Sequence[Any]], start: int = 1) -> Table:
        numbered = ((number, trimmed(line)) for number, line in enumerate(lines, start=start))
        rows = ((number, cells) for number, cells in numbered if cells)
        first = next(rows, None)
        if first is None:
            return Table(name)
        number, header = first
        return Table(name, [cell_text(cell).lstrip("\ufeff").strip() for cell in header], self._limited(rows), number)

    def _limited(self, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
        limit = self.limits.max_rows
        for count, (number, cells) in enumerate(rows):
            if limit is not None and count >= limit:
                raise self._refused(self.wording.too_many_rows, row=number, limit=limit)
            yield number, cells

    def _csv_lines(self) -> Iterator[list[str]]:
        data = self.path.read_bytes()
        if data[:4] in (ZIP_MAGIC, XLS_MAGIC):
            raise self._refused(self.wording.excel_as_csv)
        decoded = decode_text(data)
        if decoded is None:
            raise self._refused(self.wording.undecodable)
        text, self.encoding = decoded
        if "\x00" in text:
            raise self._refused(self.wording.binary)
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > first.count(",") else ","  # Excel's "Unicode text" is tab-separated
        try:
            # A cell our export escaped ('=…, see tabular.cells.formula_safe) is read back as it was.
            for line in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                yield [unescaped(cell) for cell in line]
        except csv.Error as exc:
            raise self._refused(self.wording.bad_csv, error=exc) from None

    def _workbook(self) -> Any:
        with self.path.open("rb") as handle:
            magic = handle.read(4)
        if magic == XLS_MAGIC:
            raise self._refused(self.wording.old_excel)
        if magic != ZIP_MAGIC or not zipfile.is_zipfile(self.path):
            raise self._refused(self.wording.not_xlsx)
        try:
            with zipfile.ZipFile(self.path) as archive:
                entries = archive.infolist()
        except zipfile.BadZipFile:
            raise self._refused(self.wording.not_xlsx) from None
        if "xl/workbook.xml" not in {entry.filename for entry in entries}:
            raise self._refused(self.wording.no_workbook)
        # Declared sizes suffice: zipfile stops an entry at its declared size, so a lying entry cannot grow past it.
        if sum(entry.file_size for entry in entries) > self.limits.max_unpacked:
            raise self._refused(self.wording.unpacked, limit_mb=self.limits.max_unpacked // MB)
        import openpyxl  # only when an .xlsx is read: it takes a moment to import

        try:
            workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise self._refused(self.wording.damaged, error=type(exc).__name__) from None
        self._workbooks.append(workbook)
        return workbook

    def _sheet_lines(self, worksheet: Any) -> Iterator[list[Any]]:
        try:
            for values in worksheet.iter_rows(values_only=True):
                # An escaped CSV cell saved by a spreadsheet as a workbook reads back as it was too.
                yield [unescaped(value) if isinstance(value, str) else value for value in values]
        except Exception as exc:  # a damaged sheet shows only when its rows are read
            raise self._refused(self.wording.damaged, error=type(exc).__name__) from None
