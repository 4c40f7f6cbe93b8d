from __future__ import annotations

import json
import time

import pytest

from intents.matcher import CategoryDoc, Choice, Matcher, MatchResult, PolicyDoc, PolicyHit, find_reference
from intents.records import Intent
from routing.table import category_doc_from_record, read_default_table

INTENT_CASES = [
    # policy: asks about benefits
    ("缴的失业险能退一部分吗", "policy"),
    ("稳岗补贴怎么申请", "policy"),
    ("你好，我想问一下稳岗补贴", "policy"),
    ("我们是小微企业，有什么税收优惠", "policy"),
    ("小规模纳税人增值税有减免吗", "policy"),
    ("高企所得税税率是多少", "policy"),
    ("研发费用加计扣除怎么享受", "policy"),
    ("招了几个应届生有没有补贴", "policy"),
    ("留抵退税需要什么材料", "policy"),
    ("六税两费", "policy"),
    ("稳岗返还", "policy"),
    ("请问我们公司能享受哪些优惠政策", "policy"),
    ("稅務局的補貼怎麼申請", "policy"),
    ("个体户每个月卖8万要交增值税吗", "policy"),
    # appeal: complaints and requests for help, including one naming a policy
    ("稳岗返还申请了半年还没到账", "appeal"),
    ("补贴申请了三个月还没下来", "appeal"),
    ("窗口工作人员态度太差了，跑了好几趟都没办成", "appeal"),
    ("政府拖欠我们的工程款两年了", "appeal"),
    ("法院判决了对方一直不执行", "appeal"),
    ("营业执照办下来了，许可证一直办不下来，没法开业", "appeal"),
    ("网上办事系统登录不了，提交不了材料", "appeal"),
    ("让我们开一个证明自己没有违法的证明，太奇葩了", "appeal"),
    ("招商的时候答应的条件到现在都没兑现", "appeal"),
    ("打了12345反映问题，到现在没人管", "appeal"),
    ("我要投诉", "appeal"),
    ("我想反映个问题", "appeal"),
    ("帮我们协调一下用地的问题", "appeal"),
    ("留抵退税申请了两个月还没退", "appeal"),
    ("我反映的问题一直没人管", "appeal"),
    # progress: asks how an earlier appeal is going
    ("我们的诉求LH-20261127-0042办得怎么样了", "progress"),
    ("ＬＨ－２０２６１１２７－００４２", "progress"),
    ("我反映的问题处理得怎么样了", "progress"),
    ("查询我的诉求进度", "progress"),
    ("我上周提交的诉求有结果了吗", "progress"),
    ("上次反映的拖欠款的事有进展吗", "progress"),
    # other: greetings, thanks, a human, noise, nothing
    ("你好", "other"),
    ("谢谢", "other"),
    ("谢谢，已经收到了", "other"),
    ("转人工", "other"),
    ("在吗", "other"),
    ("😀😀", "other"),
    ("asdfgh", "other"),
    ("。。。", "other"),
    ("", "other"),
    ("   ", "other"),
    ("你们是做什么的", "other"),
]


@pytest.mark.parametrize(("text", "intent"), INTENT_CASES)
def test_intent(demo_matcher: Matcher, text: str, intent: str) -> None:
    assert demo_matcher.match(text).intent == intent


def test_intent_cases_cover_every_intent() -> None:
    assert {intent for _text, intent in INTENT_CASES} == {"policy", "appeal", "progress", "other"}
    assert len(INTENT_CASES) >= 40


@pytest.mark.parametrize(
    ("text", "code", "term"),
    [
        ("缴的失业险能退一部分吗", "P05", "失业保险"),  # alias 失业险
        ("稳岗补贴怎么申请", "P05", "稳岗返还"),  # alias 稳岗补贴
        ("高企所得税税率是多少", "P08", "高新技术企业"),  # alias 高企
        ("个体户个税能减半吗", "P02", "个人所得税"),  # aliases 个体户, 个税
        ("残保金可以免吗，我们只有20个人", "P13", "残疾人就业保障金"),  # alias 残保金
        ("留抵怎么退", "P07", "留抵退税"),  # alias 留抵
        ("专精特新企业有什么奖励", "P12", "专精特新"),
        ("知识产权质押贷款有贴息吗", "P14", "知识产权质押"),
        ("招用退伍军人能减税吗", "P19", "退役士兵"),  # alias 退伍军人
        ("买了一台设备能一次性扣除吗", "P21", "设备"),
        ("员工考了技能证书有补贴吗", "P22", "补贴"),
        ("高新技术企业认定需要哪些材料", "P24", "高新技术企业认定"),
    ],
)
def test_policy_hit(demo_matcher: Matcher, text: str, code: str, term: str) -> None:
    result = demo_matcher.match(text)
    assert result.policies, text
    top = result.policies[0]
    assert top.code == code
    assert term in top.matched
    assert 0.0 < top.score <= 1.0


@pytest.mark.parametrize(
    ("text", "code", "phrase"),
    [
        ("研发费用加计扣徐", "P09", "研发费用加计扣除"),  # 徐 for 除: a typo, not a homophone
        ("一次性扩岗补组多少钱", "P06", "一次性扩岗补助"),  # 组 for 助
    ],
)
def test_typo_is_forgiven(demo_matcher: Matcher, text: str, code: str, phrase: str) -> None:
    result = demo_matcher.match(text)
    assert result.intent == "policy"
    assert result.policies[0].code == code
    assert phrase in result.policies[0].matched


def test_hits_are_ordered_bounded_and_distinct(demo_matcher: Matcher) -> None:
    for text, _intent in INTENT_CASES:
        hits = demo_matcher.match(text).policies
        assert len(hits) <= 5
        assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
        assert len({hit.code for hit in hits}) == len(hits)
        assert all(hit.matched for hit in hits)


def test_unrelated_question_matches_no_policy(demo_matcher: Matcher) -> None:
    assert demo_matcher.match("今天天气怎么样").policies == ()


def test_short_phrases_are_not_guessed(demo_matcher: Matcher) -> None:
    # 保费补贴 (P15) shares three characters with 社保补贴 but is another thing.
    assert "P15" not in [hit.code for hit in demo_matcher.match("社保补贴").policies]
    assert demo_matcher.match("社保补贴").policies[0].code in {"P11", "P36"}  # both are 社会保险补贴


def test_appeal_naming_a_policy_keeps_the_policy(demo_matcher: Matcher) -> None:
    result = demo_matcher.match("稳岗返还申请了半年还没到账")
    assert result.intent == "appeal"
    assert result.category is not None and result.category.code == "C09"
    assert [hit.code for hit in result.policies] == ["P05"]


@pytest.mark.parametrize(
    ("text", "code", "lead_unit"),
    [
        ("招商的时候答应的条件到现在都没兑现", "C01", "区投资局"),
        ("项目用电一直接不进来，影响开工", "C02", "区发改委"),
        ("帮我们协调一下用地的问题", "C02", "区发改委"),
        ("公司经营困难，资金周转不开，希望政府帮忙协调", "C03", "区工信交通局"),
        ("窗口工作人员态度太差了，跑了好几趟都没办成", "C04", "区审批局"),
        ("去大厅办事，不同窗口说的要求不一样", "C05", "区审批局"),
        ("营业执照办下来了，许可证一直办不下来，没法开业", "C06", "区审批局"),
        ("网上办事系统登录不了，提交不了材料", "C07", "区审批局"),
        ("让我们开一个证明自己没有违法的证明，太奇葩了", "C08", "区司法局"),
        ("补贴申请了三个月还没下来", "C09", "区审批局"),
        ("这个补贴我们符合条件为什么不给", "C09", "区审批局"),
        ("法院判决了对方一直不执行", "C10", "区法院"),
        ("政府拖欠我们的工程款两年了", "C11", "区工信交通局"),
        ("街道办欠我们装修款一直不给", "C11", "区工信交通局"),
        ("企业诉求没有人处理，各部门互相推诿", "C12", "区营商办"),
        ("打了12345反映问题，到现在没人管", "C13", "区审批局"),
    ],
)
def test_appeal_routing(demo_matcher: Matcher, text: str, code: str, lead_unit: str) -> None:
    result = demo_matcher.match(text)
    assert result.intent == "appeal"
    assert result.category is not None
    assert (result.category.code, result.category.lead_unit) == (code, lead_unit)
    assert result.to_dict()["lead_unit"] == lead_unit


@pytest.mark.parametrize("text", ["我要投诉", "我想反映个问题", "帮帮忙吧"])
def test_appeal_without_a_category_goes_to_the_general_one(demo_matcher: Matcher, text: str) -> None:
    result = demo_matcher.match(text)
    assert result.intent == "appeal"
    assert result.category is not None
    assert (result.category.code, result.category.lead_unit) == ("C12", "区营商办")


def test_to_dict_for_a_policy_question(demo_matcher: Matcher) -> None:
    data = demo_matcher.match("缴的失业险能退一部分吗").to_dict()
    assert list(data)[:6] == ["text", "intent", "policies", "category", "lead_unit", "units"]
    assert data["text"] == "缴的失业险能退一部分吗"
    assert data["intent"] == "policy"
    assert (data["category"], data["lead_unit"], data["units"]) == (None, None, [])
    first = data["policies"][0]
    assert list(first)[:4] == ["code", "name", "score", "matched"]
    assert first["code"] == "P05" and first["name"] == "失业保险稳岗返还"
    assert isinstance(first["score"], float) and first["score"] == round(first["score"], 2)
    assert first["matched"] == ["失业保险", "返还"]
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_to_dict_for_an_appeal(demo_matcher: Matcher) -> None:
    data = demo_matcher.match("企业诉求没有人处理，各部门互相推诿").to_dict()
    assert list(data)[:6] == ["text", "intent", "policies", "category", "lead_unit", "units"]
    assert data["intent"] == "appeal"
    assert data["category"] == {"code": "C12", "name": "企业诉求无人办理"}
    assert data["lead_unit"] == "区营商办"
    assert data["units"] == ["区工信交通局", "区审批局", "区司法局", "区工商联"]


@pytest.mark.parametrize("text", ["查询我的诉求进度", "你好"])
def test_to_dict_for_progress_and_other_has_no_routing(demo_matcher: Matcher, text: str) -> None:
    data = demo_matcher.match(text).to_dict()
    assert data["policies"] == []
    assert (data["category"], data["lead_unit"], data["units"]) == (None, None, [])


def test_to_dict_hides_a_category_outside_appeals() -> None:
    category = CategoryDoc(code="C1", name="类别", keywords=(), lead_unit="甲", units=("乙",))
    hit = PolicyHit(code="P1", name="政策", score=0.123456, matched=("补贴",))
    result = MatchResult(text="x", intent=Intent.POLICY, policies=(hit,), category=category)
    data = result.to_dict()
    assert (data["category"], data["lead_unit"], data["units"]) == (None, None, [])
    assert data["policies"] == [{"code": "P1", "name": "政策", "score": 0.12, "matched": ["补贴"], "reason": "补贴"}]


def test_reference_is_found_and_normalised(demo_matcher: Matcher) -> None:
    assert find_reference("编号lh-20261127-0042，麻烦查一下") == "LH-20261127-0042"
    assert find_reference("ＬＨ－２０２６１１２７－００４２") == "LH-20261127-0042"
    assert find_reference("电话13800000000") is None
    assert demo_matcher.match("LH-20261127-0042").reference == "LH-20261127-0042"


def test_policy_lookup(demo_matcher: Matcher) -> None:
    doc = demo_matcher.policy("P05")
    assert doc is not None and doc.name == "失业保险稳岗返还"
    assert demo_matcher.policy("P999") is None


def test_matcher_on_a_custom_catalog_without_categories() -> None:
    policy = PolicyDoc(
        code="X1",
        name="楼宇经济入驻奖励",
        body="某区商务局",
        content="对新入驻重点楼宇的企业给予房租补贴。",
        tags=(("行业", "商务服务"),),
        keywords=("楼宇入驻", "房租补贴"),
    )
    matcher = Matcher([policy], [])
    result = matcher.match("入驻写字楼有房租补贴吗")
    assert result.intent == "policy"
    assert [hit.code for hit in result.policies] == ["X1"]
    assert "房租补贴" in result.policies[0].matched
    complaint = matcher.match("我要投诉")
    assert complaint.intent == "appeal" and complaint.category is None
    assert complaint.to_dict()["lead_unit"] is None


def test_fallback_category_can_be_chosen() -> None:
    categories = [
        CategoryDoc(code="A", name="甲类", keywords=("停电",), lead_unit="甲局", units=()),
        CategoryDoc(code="B", name="乙类", keywords=("拖欠",), lead_unit="乙局", units=()),
    ]
    assert Matcher([], categories, fallback_category="B").match("我要投诉").category == categories[1]
    with pytest.raises(ValueError, match="Z"):
        Matcher([], categories, fallback_category="Z")


def test_speed(demo_matcher: Matcher) -> None:
    policies = list(demo_matcher.policies) * 2  # about fifty policies
    renamed = [PolicyDoc(**{**doc.__dict__, "code": f"{doc.code}-{index}"}) for index, doc in enumerate(policies)]
    started = time.perf_counter()
    matcher = Matcher(renamed, demo_matcher.categories)
    assert time.perf_counter() - started < 1.0
    texts = [text for text, _intent in INTENT_CASES]
    started = time.perf_counter()
    for text in texts:
        matcher.match(text)
    assert (time.perf_counter() - started) / len(texts) < 0.005


@pytest.mark.parametrize(
    ("text", "code", "term"),
    [
        ("稳岗反还怎么领", "P05", "稳岗返还"),  # homophones from the issue
        ("留底退税怎么申请", "P07", "留抵退税"),
        ("高薪技术企业有什么税收优惠", "P08", "高新技术企业"),
        ("研發費用加計扣除怎麼享受", "P09", "研发费用加计扣除"),  # traditional script
        ("专精特兴认定条件", "P12", "专精特新"),  # xing for xin
    ],
)
def test_homophones_and_traditional_script(demo_matcher: Matcher, text: str, code: str, term: str) -> None:
    result = demo_matcher.match(text)
    assert result.intent == "policy"
    codes = [hit.code for hit in result.policies]
    assert code in codes[:3], codes
    assert any(term in hit.matched for hit in result.policies if hit.code == code)


def test_unsure_between_two_policies_asks(demo_matcher: Matcher) -> None:
    result = demo_matcher.match("退税的事")
    assert result.intent == "policy"
    assert [choice.code for choice in result.choices] == ["P07", "P30"]
    assert all(choice.intent == "policy" for choice in result.choices)


def test_unsure_between_question_and_complaint_asks(demo_matcher: Matcher) -> None:
    result = demo_matcher.match("凭什么我们就不算小型微利企业？条件到底是啥")
    assert [choice.intent for choice in result.choices] == ["policy", "appeal"]
    assert result.choices[0].code == "P01"


def test_low_scores_ask_with_a_way_out(demo_matcher: Matcher) -> None:
    result = demo_matcher.match("社保")
    assert result.intent == "other"
    assert result.choices[-1] == Choice("都不是，我要反映问题", Intent.APPEAL, None)
    assert {choice.code for choice in result.choices[:-1]} <= {"P11", "P36", "P25"}


@pytest.mark.parametrize("text", ["招人有什么补贴", "稳岗返还怎么申请", "我要投诉", "你好"])
def test_clear_or_broad_messages_do_not_ask(demo_matcher: Matcher, text: str) -> None:
    assert demo_matcher.match(text).choices == ()


def test_intent_can_be_forced(demo_matcher: Matcher) -> None:
    result = demo_matcher.match("凭什么我们就不算小型微利企业？条件到底是啥", intent=Intent.APPEAL)
    assert result.intent == "appeal" and result.choices == ()
    assert result.category is not None
    assert demo_matcher.match("社保", intent=Intent.POLICY).policies


def _figures(catalog: str | None, data: str) -> dict[str, float]:
    """The lexical engine's figures (in percent) on an older labelled set of tests/data."""
    from bench.eval_tally import Tally
    from bench.match_eval import DEV, lexical, load_catalog, load_messages

    folder = DEV.parent.parent
    policies = load_catalog(folder / catalog if catalog else None)
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    guess = lexical(policies, categories, [])
    tally = Tally()
    for message in load_messages(folder / data):
        tally.add(message, guess(message["text"]))
    return {name: 100.0 * (tally.rate(name) or 0.0) for name in ("intent", "hit@3", "lead unit")}


def test_labelled_set_stays_above_the_aims() -> None:
    figures = _figures(None, "messages.jsonl")
    assert figures["intent"] >= 97.0 and figures["hit@3"] >= 98.0 and figures["lead unit"] >= 88.0, figures


def test_holdout_catalog_and_messages_stay_above_the_aims() -> None:
    figures = _figures("holdout_catalog.json", "holdout_messages.jsonl")
    assert figures["intent"] >= 93.0 and figures["hit@3"] >= 95.0 and figures["lead unit"] >= 86.0, figures
