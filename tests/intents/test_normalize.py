from __future__ import annotations

import pytest

from intents.normalize import compact, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full width letters and digits
        ("稳岗返还　申请", "稳岗返还 申请"),  # ideographic space
        ("稅務局的補貼怎麼申請", "税务局的补贴怎么申请"),  # traditional script
        ("Hello WORLD", "hello world"),
        ("补贴😀吗？？", "补贴 吗"),  # emoji and punctuation
        ("👍🏻👍🏻", ""),  # emoji with a skin-tone modifier
        ("“六税两费”减半，怎么办！", "六税两费 减半 怎么办"),
        ("税率15%，利率3.5", "税率15% 利率3.5"),  # percent and decimal point kept
        ("  多个   空格\n换行\t制表 ", "多个 空格 换行 制表"),
        ("LH-20261127-0042", "lh 20261127 0042"),
        ("", ""),
        ("。，、；：！", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_is_idempotent() -> None:
    once = normalize("ＬＨ－２０２６ 稅務局😀 补贴，Ｏｋ")
    assert normalize(once) == once


def test_compact_drops_spaces() -> None:
    assert compact("首台（套） 重大技术装备") == "首台套重大技术装备"


def test_simplified_text_skips_opencc_with_the_same_result() -> None:
    from opencc import OpenCC

    from intents.normalize import to_simplified

    converter = OpenCC("t2s")
    for text in ["稳岗返还申请了半年还没到账", "穩崗返還申請了半年還沒到賬", "乾燥的著作", "干部著作权", "后来的後來"]:
        assert to_simplified(text) == converter.convert(text)
