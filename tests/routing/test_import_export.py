"""The routing table round-trips through .xlsx, .csv and .json; a bad file is refused whole, naming where."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import exporting, importing
from routing.importing import ImportRefused
from routing.models import Category, Stage, TimeLimit, Unit
from routing.rules import limit_for, load_rules
from routing.table import read_default_table


def refused(session: Session, path: Path) -> list[str]:
    with pytest.raises(ImportRefused) as caught:
        importing.import_file(session=session, path=path)
    return [str(problem) for problem in caught.value.problems]


def test_export_then_import_changes_nothing(session: Session, tmp_path: Path) -> None:
    before = exporting.table_data(session=session)
    for name in ("table.xlsx", "table.json"):
        exporting.export_file(session=session, path=tmp_path / name)
        importing.import_file(session=session, path=tmp_path / name)
        session.flush()
        assert exporting.table_data(session=session) == before, name
    exported = json.loads((tmp_path / "table.json").read_text(encoding="utf-8"))
    default = read_default_table()
    assert [c["code"] for c in exported["categories"]] == [c["code"] for c in default["categories"]]
    assert exported["reference_prefix"] == "LH" and exported["escalation"] == default["escalation"]
    workbook = openpyxl.load_workbook(tmp_path / "table.xlsx")
    assert workbook.sheetnames == ["单位", "诉求类别", "办理时限", "节假日", "参数"]
    assert [cell.value for cell in workbook["诉求类别"][1]][:3] == ["编码", "名称", "牵头单位"]


def test_a_csv_edited_in_excel_updates_one_table(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "limits.csv"
    exporting.export_file(session=session, path=path, table="time_limits")
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["类别", "紧急程度", "签收", "联系企业", "答复"]
    rows.append(["C08", "一般", "4h", "2d", "5个工作日"])
    path.write_bytes("\n".join(",".join(row) for row in rows).encode("gb18030"))  # as Excel saves it in China
    importing.import_file(session=session, path=path)
    assert limit_for(session=session, category_code="C08", urgency="normal", stage=Stage.REPLY) == (5, "d")
    assert limit_for(session=session, category_code="C07", urgency="normal", stage=Stage.REPLY) == (7, "d")


def test_new_units_and_categories_with_streets_and_staff_placeholders(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "units.xlsx"
    workbook = openpyxl.Workbook()
    units = workbook.worksheets[0]  # the new workbook's one (active) sheet
    units.title = "单位"
    units.append(["名称", "类型", "别名", "经办人", "经办人电话"])
    units.append(["桃园路街道办事处", "街道办事处", "桃园路；桃园", "赵六", "029-88888888"])
    units.append(["区应急管理局", "区级部门", "", "", ""])
    categories = workbook.create_sheet("诉求类别")
    categories.append(["编码", "名称", "牵头单位", "责任单位", "关键词", "询问地点"])
    categories.append(["C14", "安全生产检查过多", "区应急管理局", "区市场监管局、区住建局", "检查太多；频繁检查", "是"])
    workbook.save(path)
    applied = importing.import_file(session=session, path=path)
    assert (applied.units, applied.categories) == (2, 1)
    street = session.scalars(select(Unit).where(Unit.name == "桃园路街道办事处")).one()
    assert street.aliases == ["桃园路", "桃园"] and street.contact_name == "赵六"
    category = session.scalars(select(Category).where(Category.code == "C14")).one()
    assert category.lead_unit.name == "区应急管理局" and category.asks_place
    assert [unit.name for unit in category.co_units] == ["区市场监管局", "区住建局"]


def test_every_problem_is_named_by_file_sheet_row_and_column_and_nothing_is_applied(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "bad.xlsx"
    workbook = openpyxl.Workbook()
    categories = workbook.worksheets[0]  # the new workbook's one (active) sheet
    categories.title = "诉求类别"
    categories.append(["编码", "名称", "牵头单位", "颜色"])
    categories.append(["C01", "招商承诺未兑现（改名）", "区投资局", "红"])  # valid, but must not be applied
    categories.append(["C03", "企业经营困难", "区外星局", ""])
    limits = workbook.create_sheet("办理时限")
    limits.append(["类别", "紧急程度", "签收", "答复"])
    limits.append(["*", "特急", "2h", "两周"])
    holidays = workbook.create_sheet("节假日")
    holidays.append(["日期", "上班"])
    holidays.append(["2027-02-30", "休息"])
    holidays.append(["2027-02-11", "也许"])
    settings = workbook.create_sheet("参数")
    settings.append(["参数", "值"])
    settings.append(["reference_prefix", "莲湖"])
    settings.append(["colour", "red"])
    workbook.save(path)
    problems = refused(session, path)
    sheet = "文件 bad.xlsx，工作表"
    assert problems == [
        f"{sheet}「诉求类别」，第 1 行，列「颜色」：未知的列「颜色」"
        "（可用的列：编码、名称、牵头单位、责任单位、关键词、说明、对应任务、询问地点）",
        f"{sheet}「诉求类别」，第 3 行，列「牵头单位」：没有名为「区外星局」的单位（请先在“单位”表中添加）",
        f"{sheet}「参数」，第 3 行，列「参数」：未知的参数「colour」（可用：reference_prefix、working_hours、"
        "urgencies、reply_max_days、escalation、supervisor_unit、default_category、max_returns、digest_minutes、"
        "return_reasons、dissatisfaction_reasons、resume_on_supplement、rating_reminder_hours、handoff_reply_minutes）",
        f"{sheet}「参数」，第 2 行，列「值」：reference_prefix 应为 1 到 6 个英文字母，现为 '莲湖'",
        f"{sheet}「办理时限」，第 2 行，列「紧急程度」：紧急程度应为 一般、紧急 之一",
        f"{sheet}「办理时限」，第 2 行，列「答复」：时限「两周」无法识别：请写成如 2h（工作小时）或 7d（工作日）",
        f"{sheet}「节假日」，第 2 行，列「日期」：日期「2027-02-30」应写成 YYYY-MM-DD",
        f"{sheet}「节假日」，第 3 行，列「上班」：应填 上班 或 休息",
    ]
    unchanged = session.scalars(select(Category.name).where(Category.code == "C01")).one()
    assert unchanged == "招商承诺未兑现、签约项目落地难"
    assert load_rules(session=session).reference_prefix == "LH"


def test_json_problems_name_the_item_and_key(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {"categories": [{"code": "C01", "name": "x", "lead_unit": "区投资局", "lead": "?"}], "colour": 1},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    problems = refused(session, path)
    assert problems[0] == "文件 bad.json，列「colour」：未知的键「colour」"
    assert problems[1].startswith("文件 bad.json，第 1 条，列「categories.lead」：未知的键「lead」")
    broken = tmp_path / "broken.json"
    broken.write_text('{"units": [\n  {"name": "x",}\n]}', encoding="utf-8")
    assert refused(session, broken)[0].startswith("文件 broken.json，第 2 行：JSON 格式错误")


def test_files_that_are_not_tables_are_refused(session: Session, tmp_path: Path) -> None:
    fake = tmp_path / "table.xlsx"
    fake.write_text("not a workbook")
    assert refused(session, fake) == ["文件 table.xlsx：扩展名是 .xlsx，但内容不是 Excel 工作簿"]
    other = tmp_path / "table.txt"
    other.write_text("x")
    assert refused(session, other) == ["文件 table.txt：不支持的文件格式：请使用 .xlsx / .csv / .json"]
    unknown = tmp_path / "mystery.csv"
    unknown.write_text("甲,乙\n1,2\n", encoding="utf-8")
    assert refused(session, unknown)[0].startswith("文件 mystery.csv，第 1 行：无法识别这张表")


def test_limits_imported_apply_to_new_appeals_only_by_their_category(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "limits.json"
    path.write_text(json.dumps({"time_limits": [{"category": "C10", "urgency": "urgent", "reply": "2d"}]}))
    importing.import_file(session=session, path=path)
    assert limit_for(session=session, category_code="C10", urgency="urgent", stage=Stage.REPLY) == (2, "d")
    assert limit_for(session=session, category_code="C10", urgency="urgent", stage=Stage.SIGN) == (1, "h")
    assert session.scalars(select(TimeLimit).where(TimeLimit.category_code == "C10")).one().stage == "reply"
