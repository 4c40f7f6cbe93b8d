"""Cells as both importers see them: text for a cell, and what counts as blank."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any


def cell_text(value: Any) -> str:
    """A cell as text: None is empty, 5.0 from Excel is "5", a date-time its date, other text trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def is_blank(value: Any) -> bool:
    """True for an empty cell: None, white space, or (from JSON) an empty list or object."""
    if isinstance(value, dict | list):
        return not value
    return cell_text(value) == ""


def trimmed(values: Sequence[Any]) -> list[Any]:
    """A row's cells with text stripped and the blank cells at its end dropped (a blank row becomes [])."""
    cells = [value.strip() if isinstance(value, str) else value for value in values]
    while cells and is_blank(cells[-1]):
        cells.pop()
    return cells
