"""Write the policy list as .xlsx, .csv (UTF-8 with BOM, as Excel opens it) or .json; it imports back unchanged."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import versions
from policies.columns import COLUMNS, record_cells
from policies.models import Policy

WIDTHS = {"name": 30, "body": 24, "eligibility": 40, "content": 50, "process": 40, "materials": 40, "tags": 30}


def records(*, session: Session) -> list[dict[str, Any]]:
    """Every policy, by code, as a record keyed by the English column aliases (status included)."""
    return [versions.snapshot(policy) for policy in session.scalars(select(Policy).order_by(Policy.code))]


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """CSV in UTF-8 with a BOM and Chinese headers."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header for column in COLUMNS])
    for record in rows:
        cells = record_cells(record)
        writer.writerow([cells[column.key] for column in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """An Excel workbook with one sheet, 政策清单, Chinese headers, every cell as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("政策清单")
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(column.key, 14)
    sheet.freeze_panes = "A2"
    sheet.append([column.header for column in COLUMNS])
    for record in rows:
        cells = record_cells(record)
        line = []
        for column in COLUMNS:
            cell = WriteOnlyCell(sheet, value=cells[column.key])
            cell.data_type = "s"  # text: a value starting with "=" is not a formula
            line.append(cell)
        sheet.append(line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_json(rows: list[dict[str, Any]]) -> bytes:
    """{"policies": [...]} with the English aliases, as the demo catalog is written."""
    return json.dumps({"policies": rows}, ensure_ascii=False, indent=2).encode("utf-8")


def render(rows: list[dict[str, Any]], suffix: str) -> bytes:
    """The file's bytes for a suffix (.xlsx, .csv or .json)."""
    writers = {".xlsx": to_xlsx, ".csv": to_csv, ".json": to_json}
    if suffix not in writers:
        raise ValueError(f"不支持的导出格式「{suffix}」：请用 .xlsx、.csv 或 .json")
    return writers[suffix](rows)


def write(*, session: Session, path: Path) -> int:
    """Export every policy to path (format from its suffix); the number of policies written."""
    rows = records(session=session)
    data = render(rows, path.suffix.lower())
    path.write_bytes(data)
    return len(rows)
