"""The shipped default routing table (from the seed action plan), as data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from intents.records import CategoryDoc

DEFAULT_TABLE_PATH = Path(__file__).with_name("default_table.json")
UNIT_KINDS = ("department", "street", "court", "office")


def read_default_table() -> dict[str, Any]:
    """The default table: {"units": [{name, kind}], "categories": [{code, name, ..., lead_unit, units}]}."""
    with DEFAULT_TABLE_PATH.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def category_doc_from_record(record: dict[str, Any]) -> CategoryDoc:
    """The matcher's view of a category record of the table (no database needed)."""
    return CategoryDoc(
        code=str(record["code"]),
        name=str(record["name"]),
        keywords=tuple(str(keyword) for keyword in record.get("keywords") or []),
        lead_unit=str(record["lead_unit"]),
        units=tuple(str(unit) for unit in record.get("units") or []),
        description=str(record.get("description") or ""),
    )
