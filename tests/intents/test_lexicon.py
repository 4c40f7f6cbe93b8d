from __future__ import annotations

import json

import pytest

from intents.lexicon import CUE_KINDS, LEXICON_PATH, load_lexicon, parse_lexicon
from intents.matcher import Matcher
from intents.records import CategoryDoc, PolicyDoc

# One alias per family of the shipped lexicon and the canonical term it must mean. A family added to
# lexicon.json without an example here fails test_every_family_has_an_example.
FAMILY_EXAMPLES = {
    "tax": [("个税", "个人所得税"), ("留抵", "留抵退税"), ("残保金", "残疾人就业保障金"), ("城建税", "城市维护建设税")],
    "enterprise": [
        ("高企", "高新技术企业"),
        ("小巨人", "专精特新"),
        ("小微", "小型微利企业"),
        ("个体户", "个体工商户"),
    ],
    "employment": [("社保", "社会保险"), ("失业险", "失业保险"), ("稳岗补贴", "稳岗返还"), ("应届生", "高校毕业生")],
    "finance": [("贷款", "融资"), ("专利质押", "知识产权质押"), ("ipo", "上市")],
    "technology": [("技改", "技术改造"), ("研发投入", "研发费用"), ("软著", "软件著作权")],
    "benefit": [("补助", "补贴"), ("房租", "租金"), ("退一部分", "返还"), ("不用申请", "免申即享")],
    "unit": [("人社局", "人力资源和社会保障局"), ("市民热线", "12345"), ("工商局", "市场监督管理局")],
    "appeal": [("欠款", "拖欠"), ("天然气", "用气"), ("踢皮球", "推诿"), ("老赖", "失信被执行人")],
}


def test_every_family_has_an_example() -> None:
    assert set(load_lexicon().families) == set(FAMILY_EXAMPLES)


def test_the_lexicon_is_large_and_documented() -> None:
    data = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))
    terms = [term for family in data["families"].values() for group in family["groups"] for term in group]
    assert len(terms) >= 500
    assert all(family["about"] for family in data["families"].values())
    assert len(terms) == len(set(terms)), "a term may belong to one synonym group only"


@pytest.mark.parametrize(
    ("family", "alias", "canonical"),
    [(family, alias, canonical) for family, pairs in FAMILY_EXAMPLES.items() for alias, canonical in pairs],
)
def test_family_alias_means_its_canonical_term(family: str, alias: str, canonical: str) -> None:
    lexicon = load_lexicon()
    assert lexicon.canon(alias) == canonical
    assert canonical in lexicon.families[family]


@pytest.mark.parametrize("family", sorted(set(FAMILY_EXAMPLES) - {"appeal"}))
def test_family_alias_finds_a_policy_named_with_the_canonical_term(family: str) -> None:
    alias, canonical = FAMILY_EXAMPLES[family][0]
    target = PolicyDoc(code="T", name=f"{canonical}专项支持", body="某局", content=f"对{canonical}给予支持。")
    decoy = PolicyDoc(code="D", name="文化旅游消费券", body="某局", content="发放文化旅游消费券。")
    matcher = Matcher([decoy, target], [])
    hits = matcher.match(f"{alias}有什么政策").policies
    assert hits and hits[0].code == "T", (alias, hits)
    assert canonical in hits[0].matched


@pytest.mark.parametrize(("alias", "canonical"), FAMILY_EXAMPLES["appeal"])
def test_appeal_family_alias_reaches_the_category_keyed_by_the_canonical_term(alias: str, canonical: str) -> None:
    categories = [
        CategoryDoc(code="A", name="甲类问题", keywords=("营业执照",), lead_unit="甲局", units=()),
        CategoryDoc(code="B", name="乙类问题", keywords=(canonical,), lead_unit="乙局", units=()),
    ]
    result = Matcher([], categories).match(f"投诉：{alias}的问题一直没人管")
    assert result.intent == "appeal"
    assert result.category is not None and result.category.code == "B", alias


def test_shipped_lexicon_has_the_issue_examples() -> None:
    lexicon = load_lexicon()
    for alias, canonical in [
        ("社保", "社会保险"), ("个税", "个人所得税"), ("稳岗补贴", "稳岗返还"), ("高企", "高新技术企业"),
        ("应届生", "高校毕业生"), ("失业险", "失业保险"), ("留抵", "留抵退税"), ("小巨人", "专精特新"),
        ("贷款", "融资"), ("房租", "租金"), ("招工", "用工"),
    ]:  # fmt: skip
        assert lexicon.canon(alias) == canonical
    assert lexicon.canon("没有别名的词") == "没有别名的词"
    assert all(lexicon.cues[kind] or lexicon.patterns[kind] for kind in CUE_KINDS)
    assert lexicon.fallback_appeal_text


def test_terms_are_normalised() -> None:
    lexicon = parse_lexicon({"synonyms": [["增值稅", "ＶＡＴ"]], "stopwords": ["的"]})
    assert lexicon.canon("vat") == "增值税"
    assert "的" in lexicon.stopwords


def test_bad_lexicon_is_refused() -> None:
    with pytest.raises(ValueError, match="synonyms"):
        parse_lexicon({"synonyms": ["not a group"]})
    with pytest.raises(ValueError, match=r"patterns\.appeal"):
        parse_lexicon({"patterns": {"appeal": ["(unclosed"]}})
    with pytest.raises(ValueError, match="families"):
        parse_lexicon({"families": {"x": {"groups": "no"}}})


def test_admin_groups_join_the_shipped_ones() -> None:
    lexicon = load_lexicon().with_groups([["稳岗", "保岗钱"], ["楼宇经济", "楼宇入驻"], ["  "]])
    assert lexicon.canon("保岗钱") == "稳岗返还"  # 稳岗 is a shipped alias: the new alias joins its group
    assert lexicon.canon("楼宇入驻") == "楼宇经济"
    assert lexicon.families["admin"] == ("稳岗返还", "楼宇经济")
    assert load_lexicon().canon("保岗钱") == "保岗钱"  # the shipped lexicon is not changed


def test_admin_group_reaches_the_matcher() -> None:
    policy = PolicyDoc(code="X1", name="楼宇经济发展奖励", body="某区商务局", content="对重点楼宇给予奖励。")
    lexicon = load_lexicon().with_groups([["楼宇经济", "商务楼宇入驻"]])
    assert Matcher([policy], [], lexicon=lexicon).match("商务楼宇入驻有奖励吗").policies[0].code == "X1"
