"""Text normalisation shared by matching on both sides: user messages and the catalog."""

from __future__ import annotations

import re
import unicodedata

from opencc import OpenCC

_T2S = OpenCC("t2s")
_SPACES = re.compile(r"\s+")
# Characters kept besides letters and digits: "%" (as in "15%") and a decimal point between digits.
_KEEP = frozenset("%")


def _keep(char: str, previous: str, following: str) -> bool:
    category = unicodedata.category(char)
    if category[0] in "LN":
        return True
    if char in _KEEP:
        return True
    return char == "." and previous.isdigit() and following.isdigit()


def normalize(text: str) -> str:
    """Fold width, script and case; turn emoji and punctuation into single spaces."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text)
    folded = _T2S.convert(folded).lower()
    chars = []
    last = len(folded) - 1
    for index, char in enumerate(folded):
        previous = folded[index - 1] if index > 0 else ""
        following = folded[index + 1] if index < last else ""
        chars.append(char if _keep(char, previous, following) else " ")
    return _SPACES.sub(" ", "".join(chars)).strip()


def compact(text: str) -> str:
    """The normalised text without spaces, for substring look-ups of CJK terms."""
    return normalize(text).replace(" ", "")
