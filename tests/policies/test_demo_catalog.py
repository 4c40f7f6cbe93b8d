from __future__ import annotations

import json
import re
from datetime import date

from policies.catalog import DEMO_CATALOG_PATH, doc_from_record, read_demo_catalog
from policies.models import MODES

COLUMNS = {
    "code", "name", "body", "eligibility", "content", "process", "materials",
    "mode", "tags", "keywords", "valid_from", "valid_to", "url",
}  # fmt: skip
REQUIRED = ("code", "name", "body", "content")


def test_file_is_marked_as_demo_data() -> None:
    data = json.loads(DEMO_CATALOG_PATH.read_text(encoding="utf-8"))
    assert data["demo"] is True
    assert "演示数据" in data["notice"]


def test_at_least_twenty_policies_with_unique_codes() -> None:
    records = read_demo_catalog()
    codes = [record["code"] for record in records]
    assert len(records) >= 20
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"P\d{2}", code) for code in codes)
    assert len({record["name"] for record in records}) == len(records)


def test_every_record_has_the_interface_columns_only() -> None:
    for record in read_demo_catalog():
        assert set(record) == COLUMNS, record["code"]
        for column in REQUIRED:
            assert isinstance(record[column], str) and record[column].strip(), (record["code"], column)
        for column in ("eligibility", "process", "materials"):
            assert isinstance(record[column], str) and record[column].strip(), (record["code"], column)


def test_modes_tags_keywords_and_urls() -> None:
    seen_modes = set()
    for record in read_demo_catalog():
        assert record["mode"] in MODES, record["code"]
        seen_modes.add(record["mode"])
        assert isinstance(record["tags"], dict) and record["tags"], record["code"]
        assert all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in record["tags"].items())
        assert isinstance(record["keywords"], list) and record["keywords"], record["code"]
        assert all(isinstance(keyword, str) and keyword.strip() for keyword in record["keywords"])
        assert record["url"] == "" or re.fullmatch(r"https?://\S+", record["url"]), record["code"]
    assert {"免申即享", "依申请"} <= seen_modes


def test_dates_parse_and_are_ordered() -> None:
    for record in read_demo_catalog():
        days = {}
        for column in ("valid_from", "valid_to"):
            value = record[column]
            assert value is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), (record["code"], column)
            days[column] = date.fromisoformat(value) if value else None
        if days["valid_from"] and days["valid_to"]:
            assert days["valid_from"] <= days["valid_to"], record["code"]


def test_most_policies_are_valid_at_the_demo_date() -> None:
    demo_day = date(2026, 11, 27)
    valid = [
        record
        for record in read_demo_catalog()
        if (record["valid_from"] is None or date.fromisoformat(record["valid_from"]) <= demo_day)
        and (record["valid_to"] is None or demo_day <= date.fromisoformat(record["valid_to"]))
    ]
    assert len(valid) >= 20


def test_records_convert_to_documents() -> None:
    record = next(record for record in read_demo_catalog() if record["code"] == "P05")
    doc = doc_from_record(record)
    assert doc.name == "失业保险稳岗返还"
    assert doc.mode == "免申即享"
    assert doc.tag_map() == record["tags"]
    assert doc.keywords == tuple(record["keywords"])
    hash(doc)  # frozen and hashable: usable as a cache key
