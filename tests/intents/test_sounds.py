from __future__ import annotations

import pytest

from intents.matcher import Matcher
from intents.phrases import PhraseScanner
from intents.pinyin import SoundIndex, sounds, sounds_alike, spelled


def test_readings_fold_tones_retroflexes_and_nasals() -> None:
    assert spelled("稳岗返还") == "wen gan fan huan"  # 还 reads huan in 返还, -ng folded
    assert sounds_alike(sounds("专精特兴"), sounds("专精特新"))  # xing ~ xin
    assert sounds_alike(sounds("补组"), sounds("补助"))  # zu ~ zhu
    assert not sounds_alike(sounds("纳锐"), sounds("纳税"))  # rui is not shui
    assert not sounds_alike(sounds("留抵退税"), sounds("留抵"))  # lengths differ
    assert sounds("ab1") == [frozenset("a"), frozenset("b"), frozenset("1")]


def test_sound_index_finds_windows_spelled_differently() -> None:
    index = SoundIndex(["留抵退税", "稳岗返还", "高新技术企业"])
    found = {(match.window, match.phrase) for match in index.find("留底退税和稳岗反还以及高薪技术企业")}
    assert found == {("留底退税", "留抵退税"), ("稳岗反还", "稳岗返还"), ("高薪技术企业", "高新技术企业")}
    assert index.find("留抵退税") == []  # spelled right: nothing to repair


def test_phrase_scanner_finds_all_and_covers_longest_first() -> None:
    scanner = PhraseScanner(["社保", "社保费", "费率", "稳岗返还", "返还", "x"])
    assert [(item.start, item.phrase) for item in scanner.find("社保费率稳岗返还")] == [
        (0, "社保费"), (0, "社保"), (2, "费率"), (4, "稳岗返还"), (6, "返还"),
    ]  # fmt: skip
    assert [item.phrase for item in scanner.cover("社保费率稳岗返还")] == ["社保费", "稳岗返还"]
    assert "稳岗返还" in scanner and "x" not in scanner  # one character is too short to be a phrase


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("稳岗反还怎么领", "稳岗返还"),
        ("留底退税怎么申请", "留抵退税"),
        ("高薪技术企业有什么税收优惠", "高新技术企业"),
        ("残保金能监免吗", "减免"),  # two characters, beside 残保金
        ("公积金换缴怎么办", "公积金缓缴"),  # a keyword of P40
        ("出口退水怎么申请", "出口退税"),
    ],
)
def test_sound_alike_typos_are_read_as_the_known_phrase(demo_matcher: Matcher, text: str, concept: str) -> None:
    query = demo_matcher.read(text)
    assert concept in query.concepts, query
    assert query.repairs


@pytest.mark.parametrize(
    "text",
    [
        "请问怎么联系你们",  # 问怎 is no 免征
        "我的诉求有回复了吗",  # 有回 cuts through 回复: no 优惠
        "明天见面谈",  # 见面 is a word, not 减免
        "谁来管管",
    ],
)
def test_words_are_not_repaired_into_sound_alikes(demo_matcher: Matcher, text: str) -> None:
    assert demo_matcher.read(text).repairs == ()
