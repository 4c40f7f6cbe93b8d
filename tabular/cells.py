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


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection"); tab and CR too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escapable(value: str) -> bool:
    # Formula-like text, or such text already behind quotes ("'=x" typed on purpose must survive a round trip).
    return value.lstrip("'").startswith(FORMULA_STARTS)


def formula_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, prefixed with ' (read back by `unescaped`); others as given."""
    if isinstance(value, str) and _escapable(value):
        return "'" + value
    return value


def unescaped(value: str) -> str:
    """A CSV cell as written before `formula_safe`: one ' before (quotes and) a formula character is dropped."""
    return value[1:] if value.startswith("'") and _escapable(value) else value


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
