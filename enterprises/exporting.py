"""Write enterprise profiles as .xlsx or .csv (UTF-8 with BOM); the file imports back unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from enterprises import service
from enterprises.fields import FIELDS, cells
from tabular import Table, csv_bytes, xlsx_bytes

WIDTHS = {"uscc": 22, "name": 34, "industry": 24, "qualifications": 24, "street": 14, "founded_on": 12, "phone": 16}
FORMATS = (".xlsx", ".csv")


def as_table(rows: Sequence[dict[str, Any]]) -> Table:
    """The records as one table, 企业名录, with Chinese headers and every cell as text."""
    texts = (cells(record) for record in rows)
    lines = ((number, [text[column.key] for column in FIELDS]) for number, text in enumerate(texts, start=2))
    return Table("企业名录", [column.header for column in FIELDS], lines)


def render(rows: Sequence[dict[str, Any]], suffix: str) -> bytes:
    """The file's bytes for a suffix (.xlsx or .csv)."""
    if suffix == ".csv":
        return csv_bytes(as_table(rows))
    if suffix == ".xlsx":
        return xlsx_bytes([as_table(rows)], widths=[WIDTHS.get(column.key, 10) for column in FIELDS])
    raise ValueError(f"不支持的导出格式「{suffix}」：请用 .xlsx 或 .csv")


def write(*, session: Session, path: Path) -> int:
    """Export every enterprise to path (format from its suffix); how many were written."""
    rows = service.records(session=session)
    path.write_bytes(render(rows, path.suffix.lower()))
    return len(rows)
