"""The semantic layer: hybrid retrieval, intent and unit learned from examples, honest answers, the `none` seam.

The model is loaded once per test session (a session fixture in tests/conftest.py); the classifiers are fitted
once and kept in the fit cache.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from intents.embedding import MAX_CHARS, clip, load_embedder
from intents.hybrid import FIT_SURE, fuse
from intents.learned import load, save
from intents.matcher import Matcher
from intents.records import Example, Intent, MatchResult
from intents.semantic import Ridge, unit_vector, votes

RENT = "我们是餐饮店，房租能减免吗"


def honest(result: MatchResult) -> bool:
    """Nothing offered, or what is offered comes with "没有找到完全对应的政策" (a best score under FIT_SURE)."""
    return result.no_fit or (bool(result.policies) and result.policies[0].score < FIT_SURE)


@pytest.mark.parametrize("text", [RENT, "房租减免", "餐饮企业有什么扶持", "开民办幼儿园有办园补贴吗"])
def test_a_question_the_list_cannot_answer_is_answered_honestly(hybrid_matcher: Matcher, text: str) -> None:
    result = hybrid_matcher.match(text)
    assert result.intent == Intent.POLICY
    assert honest(result), [(hit.code, round(hit.score, 2)) for hit in result.policies]


def test_an_answerable_question_is_answered_plainly(hybrid_matcher: Matcher) -> None:
    result = hybrid_matcher.match("缴的失业险能退一部分吗")
    assert not honest(result) and result.policies[0].code == "P05"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我的投诉处理到哪一步了", Intent.PROGRESS),
        ("窗口的人业务一点都不熟，材料要求讲不清楚，害我白跑一趟", Intent.APPEAL),
        ("公司打算冲刺A股，券商已经进场辅导了，区里有啥支持", Intent.POLICY),
        ("我们厂门口的排水管堵了一个多月，污水漫到车间里，找了好几个地方都没人来修", Intent.APPEAL),
    ],
)
def test_meaning_carries_where_cue_words_do_not(hybrid_matcher: Matcher, text: str, intent: Intent) -> None:
    result = hybrid_matcher.match(text)
    assert result.intent == intent, (result.intent, result.confidence)
    assert 0.0 <= result.confidence <= 1.0


def test_meaning_ranks_the_listing_reward_first_for_an_ipo(hybrid_matcher: Matcher) -> None:
    evidence = hybrid_matcher._evidence("公司打算冲刺A股，券商已经进场辅导了，区里有啥支持")
    assert evidence.dense is not None
    ranked = fuse(evidence.lexical, evidence.dense, hybrid_matcher.policies)
    assert ranked[0].code == "P42"


def test_a_window_complaint_goes_to_the_approval_bureau_with_its_reasons(hybrid_matcher: Matcher) -> None:
    result = hybrid_matcher.match("窗口工作人员态度恶劣，材料一次没说清，让我来回跑了四趟")
    assert result.intent == Intent.APPEAL and result.lead_unit == "区审批局"
    assert result.candidates[0].unit == "区审批局" and result.unit_confidence > 0.5
    assert result.nearest and all(item.example.intent == Intent.APPEAL for item in result.nearest)
    data = result.to_dict()
    assert data["lead_unit"] == "区审批局" and data["candidates"][0]["unit"] == "区审批局"


def test_a_staff_correction_decides_a_near_identical_message(hybrid_matcher: Matcher) -> None:
    text = "我们在政务大厅办食品经营许可，窗口说材料不全让我们回去补，补了三次还是不行"
    before = hybrid_matcher.match(text)
    assert before.intent == Intent.APPEAL and before.lead_unit != "区市场监管局"
    assert hybrid_matcher.examples is not None
    examples = [*(e for e in hybrid_matcher.examples.examples if e.source != "category"), Example(
        text, Intent.APPEAL, "C04", "区市场监管局", source="transfer"
    )]  # fmt: skip
    taught = hybrid_matcher.learn(examples, refit=False, learned=hybrid_matcher.learned)
    after = taught.match(text.replace("三次", "3次") + "。")
    assert after.lead_unit == "区市场监管局" and not after.triage
    assert after.nearest[0].example.source == "transfer"
    assert hybrid_matcher.match(text).lead_unit == before.lead_unit  # the old matcher is untouched


def test_a_match_by_meaning_says_so(hybrid_matcher: Matcher) -> None:
    found = [hit for hit in hybrid_matcher.match("公司想去深交所挂牌，有没有钱奖励").policies if not hit.matched]
    for hit in found:
        assert hit.reason.startswith("语义相近") and hit.close


def test_the_fitted_classifiers_survive_a_round_trip(hybrid_matcher: Matcher, tmp_path: Path) -> None:
    assert hybrid_matcher.learned is not None and hybrid_matcher.examples is not None
    save(hybrid_matcher.learned, tmp_path / "fit.npz")
    loaded = load(tmp_path / "fit.npz")
    assert loaded is not None and loaded.categories == hybrid_matcher.learned.categories
    again = hybrid_matcher.learn(hybrid_matcher.examples.examples[:-13], refit=False, learned=loaded)
    text = "补贴申请了半年还没到账，打电话也没人管"
    first, second = hybrid_matcher.match(text), again.match(text)
    assert (first.intent, first.lead_unit) == (second.intent, second.lead_unit)
    assert abs(first.confidence - second.confidence) < 1e-4
    assert load(tmp_path / "missing.npz") is None


def test_lexical_only_when_the_embedder_is_none(demo_matcher: Matcher) -> None:
    assert load_embedder("none").embedder is None and not load_embedder("none").problem
    bogus = load_embedder("word2vec")
    assert bogus.embedder is None and "word2vec" in bogus.problem
    result = demo_matcher.match("稳岗返还怎么申请")
    assert demo_matcher.mode == "lexical" and result.semantic == "none"
    assert result.policies[0].code == "P05" and result.to_dict()["semantic"] == "none"
    assert demo_matcher.learn([Example("你好", Intent.OTHER)]).learned is None


def test_long_messages_keep_their_head_and_their_ask() -> None:
    text = "背景" * 200 + "请问能不能退税"
    kept = clip(text, is_query=True)
    assert len(kept) == MAX_CHARS and kept.startswith("背景") and kept.endswith("请问能不能退税")
    assert clip(text, is_query=False) == text[:MAX_CHARS]
    assert clip("短", is_query=True) == "短"


def test_votes_weigh_the_nearest_examples() -> None:
    examples = np.vstack([unit_vector([1, 0, 0]), unit_vector([0.9, 0.1, 0]), unit_vector([0, 1, 0])])
    query = unit_vector([1, 0.05, 0])[None, :]
    found = votes(query @ examples.T, np.array([0, 0, 1]), 2, k=3)
    assert found.shape == (1, 2) and found[0, 0] > 0.99 and abs(found.sum() - 1) < 1e-6
    ridge = Ridge.fit(examples, np.eye(2, dtype=np.float32)[[0, 0, 1]], penalty=0.1)
    assert ridge.predict(query)[0].argmax() == 0 and ridge.loo.shape == (3, 2)


def test_forced_intent_keeps_the_route(hybrid_matcher: Matcher) -> None:
    result = hybrid_matcher.match("稳岗返还的钱申请了半年还没到账", intent=Intent.APPEAL)
    assert result.intent == Intent.APPEAL and result.category is not None and result.lead_unit
    assert replace(result, unit=None).lead_unit == result.category.lead_unit
