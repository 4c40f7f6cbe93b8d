"""Write tables as .csv (UTF-8 with a BOM, as Excel opens it) or .xlsx (a sheet per table), and documents as .json."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from tabular.cells import FORMULA_STARTS, formula_safe
from tabular.reading import Table


def csv_bytes(table: Table) -> bytes:
    """One table as CSV: UTF-8 with a BOM (Excel then does not read GBK); lines end in CRLF; formulas escaped."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    # Cells a spreadsheet would run as formulas (=HYPERLINK…, +SUM, -2+3+cmd|…) start with ' instead.
    writer.writerow([formula_safe(value) for value in table.header])
    writer.writerows([formula_safe(value) for value in cells] for _, cells in table.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(tables: Sequence[Table], *, widths: Sequence[float] = (), bold_header: bool = False) -> bytes:
    """A workbook with a sheet per table, the header row frozen, and text kept as text (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    for table in tables:
        sheet = workbook.create_sheet(table.name)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([_cell(sheet, value, bold=bold_header) for value in table.header])
        for _, cells in table.rows:
            sheet.append([_cell(sheet, value) for value in cells])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(sheet: Any, value: Any, *, bold: bool = False) -> Any:
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # text: a value starting with "=" must not become a formula
    if value.startswith(FORMULA_STARTS):
        # Excel's own "text, not formula" mark: it stays text when someone edits the cell; the value is unchanged.
        cell.quotePrefix = True
    if bold:
        cell.font = Font(bold=True)
    return cell


def json_bytes(document: Any) -> bytes:
    """A document as indented UTF-8 JSON, Chinese unescaped, ending in a newline."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
