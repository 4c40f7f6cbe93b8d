from __future__ import annotations

import re
from typing import Any

from routing.table import UNIT_KINDS, category_doc_from_record, read_default_table

# Every unit the seed action plan names as a lead or responsible unit (牵头单位 / 责任单位).
SEED_UNITS = {
    "区投资局", "区发改委", "区审批局", "资源规划莲湖分局", "大兴新区管委会", "区工信交通局", "区人社局", "区住建局",
    "区城管局", "区金融办", "区商务局", "区司法局", "区市场监管局", "区教育局", "区民政局", "区卫健局", "区医保局",
    "公安莲湖分局", "区科技局", "区财政局", "区文化旅游体育局", "区税务局", "区法院", "区营商办", "区工商联",
}  # fmt: skip
LIANHU_STREETS = {
    "北院门街道办事处", "青年路街道办事处", "北关街道办事处", "红庙坡街道办事处", "环城西路街道办事处",
    "西关街道办事处", "土门街道办事处", "桃园路街道办事处", "枣园街道办事处",
}  # fmt: skip
# seed task -> (lead units in the seed's order, co-responsible units the seed names), as in docs/domain.md.
SEED_LEADS = {
    1: ["区投资局"],
    2: ["区发改委"],
    3: ["区工信交通局"],
    4: ["区审批局"],
    5: ["区审批局"],
    6: ["区审批局"],
    7: ["区审批局"],
    8: ["区审批局"],
    9: ["区审批局", "区工信交通局"],
    10: ["区司法局", "区审批局"],
    11: ["区审批局", "区工信交通局", "区发改委"],
    12: ["区审批局", "区工信交通局"],
    13: ["区审批局", "区工信交通局"],
    14: ["区法院", "区司法局"],
    15: ["区工信交通局"],
    16: ["区营商办", "区工信交通局", "区审批局", "区司法局"],
    17: ["区营商办", "区工信交通局"],
    18: ["区审批局", "区工信交通局"],
}


def tasks(seed_task: str) -> list[int]:
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", seed_task)
    assert match, seed_task
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    return list(range(first, last + 1))


def test_units_are_unique_and_typed() -> None:
    units = read_default_table()["units"]
    names = [unit["name"] for unit in units]
    assert len(names) == len(set(names))
    assert all(unit["kind"] in UNIT_KINDS for unit in units)
    kinds = {unit["name"]: unit["kind"] for unit in units}
    assert kinds["区营商办"] == "office" and kinds["区法院"] == "court"
    assert all(kinds[street] == "street" for street in LIANHU_STREETS)


def test_every_unit_of_the_seed_and_every_street_exists() -> None:
    names = {unit["name"] for unit in read_default_table()["units"]}
    assert names >= SEED_UNITS
    assert names >= LIANHU_STREETS


def test_every_referenced_unit_exists() -> None:
    table = read_default_table()
    names = {unit["name"] for unit in table["units"]}
    for category in table["categories"]:
        assert category["lead_unit"] in names, category["code"]
        assert set(category["units"]) <= names, category["code"]
        assert category["lead_unit"] not in category["units"], category["code"]
        assert len(set(category["units"])) == len(category["units"]), category["code"]


def test_categories_are_complete() -> None:
    categories = read_default_table()["categories"]
    codes = [category["code"] for category in categories]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"C\d{2}", code) for code in codes)
    for category in categories:
        assert category["name"].strip() and category["description"].strip(), category["code"]
        assert len(category["keywords"]) >= 8, category["code"]
        assert all(isinstance(keyword, str) and keyword.strip() for keyword in category["keywords"])


def test_every_seed_task_is_covered_once_with_its_lead_units() -> None:
    covered: dict[int, dict[str, Any]] = {}
    for category in read_default_table()["categories"]:
        for task in tasks(category["seed_task"]):
            assert task not in covered, task
            covered[task] = category
    assert sorted(covered) == list(range(1, 19))
    for task, leads in SEED_LEADS.items():
        category = covered[task]
        assert category["lead_unit"] == leads[0], task
        assert set(leads[1:]) <= set(category["units"]), task


def test_seed_order_of_units_is_kept() -> None:
    by_code = {category["code"]: category for category in read_default_table()["categories"]}
    assert by_code["C12"]["units"][:3] == ["区工信交通局", "区审批局", "区司法局"]
    assert by_code["C09"]["units"][:2] == ["区工信交通局", "区发改委"]


def test_records_convert_to_documents() -> None:
    record = read_default_table()["categories"][0]
    doc = category_doc_from_record(record)
    assert doc.code == record["code"] and doc.lead_unit == record["lead_unit"]
    assert doc.units == tuple(record["units"]) and doc.keywords == tuple(record["keywords"])
