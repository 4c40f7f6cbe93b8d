from __future__ import annotations

from intents.records import PolicyDoc
from policies.catalog import doc_from_record, read_demo_catalog
from policies.replies import (
    format_policy_detail,
    format_policy_list,
    format_question,
    list_order,
    materials_list,
    short_body,
    summary,
)


def demo(code: str) -> PolicyDoc:
    return next(doc_from_record(record) for record in read_demo_catalog() if record["code"] == code)


def test_list_puts_no_application_policies_first_and_numbers_them() -> None:
    docs = [demo("P06"), demo("P05"), demo("P10"), demo("P01")]
    assert [doc.code for doc in list_order(docs)] == ["P05", "P01", "P06", "P10"]
    text = format_policy_list(docs)
    lines = text.splitlines()
    assert lines[0] == "1. 失业保险稳岗返还【免申即享·无需申请】"
    assert lines[-1] == "回复序号查看详情"
    numbered = [line for line in lines if line[:1].isdigit()]
    assert [line.split(".")[0] for line in numbered] == ["1", "2", "3", "4"]
    assert numbered[2] == "3. 一次性扩岗补助【依申请】"  # 依申请: no 无需申请 mark
    assert text.count("无需申请】") == 2


def test_list_is_two_lines_a_policy_with_body_and_benefit() -> None:
    docs = [demo(code) for code in ("P03", "P05", "P12", "P24", "P44")]
    lines = format_policy_list(docs).splitlines()
    assert len(lines) == 2 * len(docs) + 1  # short enough to read on a phone
    for doc in list_order(docs):
        detail = lines[lines.index(next(line for line in lines if doc.name in line)) + 1]
        body, benefit = detail.strip().split("｜")
        assert body == short_body(doc.body)
        assert benefit == summary(doc.content, limit=40)
        assert len(benefit) <= 40
    assert "月销售额10万元以下" in format_policy_list([demo("P03")])


def test_short_body_and_summary() -> None:
    assert short_body("莲湖区人力资源和社会保障局") == "莲湖区人社局"
    assert short_body("西安市人力资源和社会保障局、莲湖区人力资源和社会保障局") == "西安市人社局等"
    assert short_body("国家税务总局西安市莲湖区税务局（代征）") == "西安市莲湖区税务局"
    assert len(summary("甲" * 200)) == 60
    ten = "一二三四五六七八九十"
    assert summary(f"{ten}，{ten}，{ten}", limit=25) == f"{ten}，{ten}…"  # cut at a comma


def test_question_offers_numbered_choices() -> None:
    text = format_question(["了解“失业保险稳岗返还”", "反映办理中遇到的问题"])
    assert text.splitlines() == [
        "想确认一下，您是想：",
        "1. 了解“失业保险稳岗返还”",
        "2. 反映办理中遇到的问题",
        "请回复序号。",
    ]


def test_empty_list_says_so() -> None:
    assert "未找到" in format_policy_list([])


def test_detail_tells_everything_at_once() -> None:
    doc = demo("P24")
    text = format_policy_detail(doc)
    for part in (doc.name, doc.body, doc.content, doc.eligibility, doc.process, doc.url):
        assert part in text
    items = materials_list(doc.materials)
    assert len(items) == 8
    for number, item in enumerate(items, start=1):
        assert f"{number}. {item}" in text
    assert "一次性告知" in text


def test_detail_of_a_policy_without_materials() -> None:
    doc = PolicyDoc(code="X", name="免申政策", body="区税务局", content="直接减免。", mode="免申即享")
    assert "无需提交材料" in format_policy_detail(doc)
    other = PolicyDoc(code="Y", name="依申请政策", body="区人社局", content="补贴。")
    assert "请联系实施主体" in format_policy_detail(other)


def test_materials_list_splits_and_cleans() -> None:
    assert materials_list("1. 申请表；2、营业执照;\n身份证件（如：身份证、护照）。") == [
        "申请表",
        "营业执照",
        "身份证件（如：身份证、护照）",
    ]
