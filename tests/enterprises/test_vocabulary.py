"""The tag vocabulary policies and enterprises share: 行业 (GB/T 4754-2017 门类), 规模, 资质, 街道 and ranges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enterprises.vocabulary import (
    INDUSTRY_ALIASES,
    INDUSTRY_NAMES,
    Range,
    Scale,
    TagError,
    Vocabulary,
    canonical,
    industries,
    number_range,
    scale,
    size,
    tag_units,
    terms,
)

VOCABULARY = Vocabulary.default()


def test_the_twenty_sections_of_gbt_4754_2017() -> None:
    assert len(INDUSTRY_NAMES) == 20 and INDUSTRY_NAMES[2] == "制造业" and INDUSTRY_NAMES[-1] == "国际组织"
    # every everyday name leads to exactly one section
    assert set(INDUSTRY_ALIASES.values()) <= set(INDUSTRY_NAMES)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("制造业", ["制造业"]),
        ("C", ["制造业"]),
        ("农、林、牧、渔业", ["农、林、牧、渔业"]),  # a name that contains 、 is read whole
        ("制造业、农、林、牧、渔业、I", ["制造业", "农、林、牧、渔业", "信息传输、软件和信息技术服务业"]),
        ("零售、餐饮", ["批发和零售业", "住宿和餐饮业"]),
        ("软件业/建筑", ["信息传输、软件和信息技术服务业", "建筑业"]),
        ("不限", ["不限"]),
    ],
)
def test_industries_read_names_aliases_and_letters(written: str, read: list[str]) -> None:
    assert industries(written) == read


@pytest.mark.parametrize("written", ["科技", "工业", "制造业、火星业", "不限、制造业", "Z"])
def test_an_unknown_industry_is_refused_with_the_reason(written: str) -> None:
    with pytest.raises(TagError, match=r"门类|不限"):
        industries(written)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("小微", Scale("小微")),
        ("小微型企业", Scale("小微")),
        ("微、小", Scale("小微")),
        ("不限", Scale()),
        ("规上", Scale("", True)),
        ("规模以上", Scale("", True)),
        ("中小、规下", Scale("中小", False)),
    ],
)
def test_scales(written: str, read: Scale) -> None:
    assert scale(written) == read
    assert scale(read.text()) == read  # the stored form reads back the same


@pytest.mark.parametrize("written", ["特大", "规上、规下", "不限、小微", "小微个体"])
def test_bad_scales(written: str) -> None:
    with pytest.raises(TagError, match="规模"):
        scale(written)


def test_an_enterprise_has_one_size() -> None:
    assert [size(text) for text in ("大型", "中型企业", "小", "微型")] == ["大", "中", "小", "微"]
    with pytest.raises(TagError, match="大型、中型、小型、微型 之一"):
        size("小微")


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("≥3", Range(low=3)),
        (">=3", Range(low=3)),
        ("3年以上", Range(low=3)),
        ("超过3年", Range(low=4)),
        ("≤300", Range(high=300)),
        ("不超过300人", Range(high=300)),
        ("300人以下", Range(high=300)),
        ("<20", Range(high=19)),
        ("10-300", Range(10, 300)),
        ("10～300人", Range(10, 300)),
    ],
)
def test_ranges(written: str, read: Range) -> None:
    assert number_range("从业人数", written) == read
    assert number_range("从业人数", read.text("人")) == read


@pytest.mark.parametrize("written", ["很多", "3", "300-10", ""])
def test_bad_ranges(written: str) -> None:
    with pytest.raises(TagError, match=r"范围|下限大于上限"):
        number_range("成立年限", written)


def test_qualifications_and_streets_come_from_the_vocabulary() -> None:
    assert terms("资质", "专精特新“小巨人”、高新技术企业", VOCABULARY, allow_any=False) == [
        '专精特新"小巨人"',
        "高新技术企业",
    ]
    assert terms("街道", "北院门、西关街道", VOCABULARY, allow_any=True) == ["北院门街道", "西关街道"]
    with pytest.raises(TagError, match="资质「火星企业」不在资质词表中"):
        terms("资质", "火星企业", VOCABULARY, allow_any=False)
    extended = Vocabulary(qualifications=(*VOCABULARY.qualifications, "火星企业"), streets=VOCABULARY.streets)
    assert canonical("资质", "火星企业", extended) == "火星企业"


def test_free_keys_are_labels_kept_as_written() -> None:
    assert canonical("层级", "国家 / 省", VOCABULARY) == "国家 / 省"
    assert tag_units("层级", "国家、省") == ["国家", "省"]
    assert tag_units("规模", "中小、规上") == ["中", "小", "规上"]
    assert tag_units("行业", "农、林、牧、渔业") == ["农、林、牧、渔业"]


@given(
    st.lists(st.sampled_from([*INDUSTRY_NAMES, *INDUSTRY_ALIASES]), min_size=1, max_size=4),
    st.sets(st.sampled_from("大中小微")),
    st.sampled_from(["", "规上", "规下"]),
)
def test_canonical_forms_are_stable(names: list[str], sizes: set[str], flag: str) -> None:
    industry = canonical("行业", "、".join(names), VOCABULARY)
    assert canonical("行业", industry, VOCABULARY) == industry
    written = "、".join(part for part in ("".join(sorted(sizes)), flag) if part) or "不限"
    stored = canonical("规模", written, VOCABULARY)
    assert canonical("规模", stored, VOCABULARY) == stored
