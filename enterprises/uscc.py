"""统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character over the first 17."""

from __future__ import annotations

import re
import unicodedata

# The 31 characters a code may use: digits and capital letters without I, O, Z, S and V.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def normalize(text: str) -> str:
    """As people type it: full-width to half-width, lower to upper case, spaces and dashes removed."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text)).upper()


def check_character(body: str) -> str:
    """The check character (position 18) for the first 17 characters."""
    total = sum(CHARSET.index(char) * weight for char, weight in zip(body, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why a (normalized) code is not a valid 统一社会信用代码, in Chinese; None when it is valid."""
    if len(code) != LENGTH:
        return f"统一社会信用代码应为 18 位，「{code[:30]}」有 {len(code)} 位"
    for position, char in enumerate(code, start=1):
        if char not in CHARSET:
            return f"统一社会信用代码第 {position} 位「{char}」无效：只能是数字或除 I、O、Z、S、V 以外的大写字母"
    expected = check_character(code[:17])
    if code[17] != expected:
        return (
            f"统一社会信用代码「{code}」校验位不符（GB 32100-2015）：第 18 位应为「{expected}」，实际为「{code[17]}」"
        )
    return None


def is_valid(code: str) -> bool:
    """True for a valid code (after normalize)."""
    return problem(normalize(code)) is None
