"""The shipped demo policy list and conversions between catalog records, rows and matcher documents."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from intents.records import PolicyDoc
from policies.models import Policy, PolicyMode, PolicyStatus

DEMO_CATALOG_PATH = Path(__file__).with_name("demo_catalog.json")


def read_demo_catalog() -> list[dict[str, Any]]:
    """The demo policies as records keyed by the English column aliases (code, name, body, ...)."""
    with DEMO_CATALOG_PATH.open(encoding="utf-8") as handle:
        data = json.load(handle)
    policies = data["policies"] if isinstance(data, dict) else data
    return [dict(record) for record in policies]


def parse_day(value: Any) -> date | None:
    """A YYYY-MM-DD string (or a date, or empty) as a date or None."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def policy_from_record(record: Mapping[str, Any], *, demo: bool = False) -> Policy:
    """A new published Policy row from a catalog record."""
    return Policy(
        code=str(record["code"]),
        name=str(record["name"]),
        body=str(record["body"]),
        eligibility=str(record.get("eligibility") or ""),
        content=str(record["content"]),
        process=str(record.get("process") or ""),
        materials=str(record.get("materials") or ""),
        mode=PolicyMode(record.get("mode") or PolicyMode.ON_APPLICATION),
        tags={str(key): str(value) for key, value in dict(record.get("tags") or {}).items()},
        keywords=[str(keyword) for keyword in record.get("keywords") or []],
        valid_from=parse_day(record.get("valid_from")),
        valid_to=parse_day(record.get("valid_to")),
        url=str(record.get("url") or ""),
        status=PolicyStatus.PUBLISHED,
        demo=demo,
    )


def doc_from_record(record: Mapping[str, Any]) -> PolicyDoc:
    """The matcher's view of a catalog record (no database needed)."""
    return PolicyDoc(
        code=str(record["code"]),
        name=str(record["name"]),
        body=str(record["body"]),
        content=str(record["content"]),
        eligibility=str(record.get("eligibility") or ""),
        process=str(record.get("process") or ""),
        materials=str(record.get("materials") or ""),
        mode=str(record.get("mode") or PolicyMode.ON_APPLICATION),
        tags=tuple((str(key), str(value)) for key, value in dict(record.get("tags") or {}).items()),
        keywords=tuple(str(keyword) for keyword in record.get("keywords") or []),
        url=str(record.get("url") or ""),
    )


def doc_from_row(policy: Policy) -> PolicyDoc:
    """The matcher's view of a Policy row."""
    return PolicyDoc(
        code=policy.code,
        name=policy.name,
        body=policy.body,
        content=policy.content,
        eligibility=policy.eligibility or "",
        process=policy.process or "",
        materials=policy.materials or "",
        mode=policy.mode,
        tags=tuple((str(key), str(value)) for key, value in (policy.tags or {}).items()),
        keywords=tuple(str(keyword) for keyword in policy.keywords or []),
        url=policy.url or "",
    )
