"""Text normalisation shared by matching on both sides: user messages and the catalog."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc
from opencc import OpenCC

_T2S = OpenCC("t2s")
_SPACES = re.compile(r"\s+")
# Characters kept besides letters and digits: "%" (as in "15%") and a decimal point between digits.
_KEEP = frozenset("%")


@lru_cache(maxsize=1)
def _traditional() -> frozenset[str]:
    """Every character that OpenCC's t2s tables may change; text without any of them is left as it is."""
    folder = Path(opencc.__file__).with_name("dictionary")
    found: set[str] = set()
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            key, _tab, values = line.partition("\t")
            for value in values.split(" "):
                if len(value) == len(key):
                    found.update(a for a, b in zip(key, value, strict=True) if a != b)
                else:
                    found.update(key)
    return frozenset(found)


def to_simplified(text: str) -> str:
    """Traditional characters as simplified ones (OpenCC t2s), skipping OpenCC when there are none: it is slow."""
    traditional = _traditional()
    return _T2S.convert(text) if any(char in traditional for char in text) else text


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
    folded = to_simplified(folded).lower()
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
