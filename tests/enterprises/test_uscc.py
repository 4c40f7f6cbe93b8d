"""统一社会信用代码: the GB 32100-2015 check character, on real codes and on wrong ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enterprises.uscc import CHARSET, check_character, is_valid, normalize, problem

# Published codes of well-known enterprises (from their business licences).
REAL = [
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "914403001922038216",  # 华为技术有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_are_valid(code: str) -> None:
    assert is_valid(code) and problem(code) is None


def test_codes_are_read_as_people_type_them() -> None:
    assert normalize(" ９１４４０３００７０８４６１１３６ｔ ") == "91440300708461136T"
    assert is_valid("9144-0300-7084-6113-6t")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91440300708461136X", "校验位不符（GB 32100-2015）：第 18 位应为「T」，实际为「X」"),
        ("91440300708461137T", "校验位不符"),  # one digit mistyped
        ("9144030070846113", "应为 18 位，「9144030070846113」有 16 位"),
        ("91440300708461136TT", "有 19 位"),
        ("9144030070846I136T", "第 14 位「I」无效"),  # I, O, Z, S, V are never used
        ("91440300708461136O", "第 18 位「O」无效"),
    ],
)
def test_wrong_codes_are_refused_with_the_reason(code: str, reason: str) -> None:
    found = problem(code)
    assert found is not None and reason in found


def test_swapping_two_characters_is_caught() -> None:
    code = REAL[0]
    swapped = code[:3] + code[4] + code[3] + code[5:]
    assert swapped != code and not is_valid(swapped)


@given(st.text(alphabet=CHARSET, min_size=17, max_size=17), st.sampled_from(CHARSET))
def test_exactly_one_check_character_fits(body: str, last: str) -> None:
    assert is_valid(body + last) == (last == check_character(body))
