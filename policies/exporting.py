"""Write the policy list as .xlsx, .csv (UTF-8 with BOM, as Excel opens it) or .json; it imports back unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import versions
from policies.columns import COLUMNS, record_cells
from policies.models import Policy
from tabular import Table, csv_bytes, json_bytes, xlsx_bytes

WIDTHS = {"name": 30, "body": 24, "eligibility": 40, "content": 50, "process": 40, "materials": 40, "tags": 30}


def records(*, session: Session) -> list[dict[str, Any]]:
    """Every policy, by code, as a record keyed by the English column aliases (status included)."""
    return [versions.snapshot(policy) for policy in session.scalars(select(Policy).order_by(Policy.code))]


def as_table(rows: list[dict[str, Any]]) -> Table:
    """The records as one table, 政策清单, with Chinese headers and every cell as text."""
    texts = (record_cells(record) for record in rows)
    lines = ((number, [text[column.key] for column in COLUMNS]) for number, text in enumerate(texts, start=2))
    return Table("政策清单", [column.header for column in COLUMNS], lines)


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """CSV in UTF-8 with a BOM and Chinese headers."""
    return csv_bytes(as_table(rows))


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """An Excel workbook with one sheet, 政策清单, Chinese headers, every cell as text."""
    return xlsx_bytes([as_table(rows)], widths=[WIDTHS.get(column.key, 14) for column in COLUMNS])


def to_json(rows: list[dict[str, Any]]) -> bytes:
    """{"policies": [...]} with the English aliases, as the demo catalog is written."""
    return json_bytes({"policies": rows})


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
