"""Sound-alike matching for typing slips: 稳岗反还 → 稳岗返还, 留底退税 → 留抵退税, 高薪技术企业 → 高新技术企业.

Pinyin input methods make people pick the wrong character with the right sound. Each character is
reduced to its readings without tones (its most common one and the one it has in context), with the
retroflex and nasal pairs most often confused folded together (zh/z, ch/c, sh/s, -ng/-n), so 专精特兴
sounds like 专精特新. Two strings sound alike when every pair of positions shares a reading.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import lazy_pinyin

# Variants of one phrase's pinyin key kept in the index (polyphonic characters multiply them).
MAX_VARIANTS = 8
MIN_LENGTH = 2
MAX_LENGTH = 10


def _fold(syllable: str) -> str:
    for retroflex, flat in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(retroflex):
            syllable = flat + syllable[2:]
            break
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


@lru_cache(maxsize=65536)
def _primary(char: str) -> str:
    """The character's most common reading, folded; a non-Chinese character reads as itself."""
    if not _is_han(char):
        return char
    found = lazy_pinyin(char, errors="ignore")
    return _fold(found[0]) if found else char


def _as_is(chars: str) -> Any:
    return list(chars)


def sounds(text: str) -> list[frozenset[str]]:
    """Per character: its most common reading and its reading in this context (polyphones: 还 in 返还 is huan)."""
    context = lazy_pinyin(text, errors=_as_is)
    if len(context) != len(text):  # a character pypinyin split oddly: fall back to readings one by one
        context = [_primary(char) for char in text]
    return [
        frozenset({_primary(char), _fold(reading)}) if _is_han(char) else frozenset({char})
        for char, reading in zip(text, context, strict=True)
    ]


def sounds_alike(left: Sequence[frozenset[str]], right: Sequence[frozenset[str]]) -> bool:
    """True when both have the same length and every pair of positions shares a reading."""
    return len(left) == len(right) and all(not a.isdisjoint(b) for a, b in zip(left, right, strict=True))


@lru_cache(maxsize=131072)
def spelled(text: str) -> str:
    """The text's readings in context, folded and space-separated, for fuzzy comparison of sounds."""
    return " ".join(_fold(reading) for reading in lazy_pinyin(text, errors=_as_is))


def _keys(first: frozenset[str], second: frozenset[str]) -> list[tuple[str, str]]:
    return list(itertools.islice(itertools.product(sorted(first), sorted(second)), MAX_VARIANTS))


@dataclass(frozen=True)
class SoundMatch:
    """A window of the text that sounds like a known phrase but is spelled differently."""

    start: int
    window: str
    phrase: str


class SoundIndex:
    """Known phrases by the sound of their first two characters."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._by_prefix: dict[tuple[str, str], list[tuple[str, list[frozenset[str]]]]] = {}
        for phrase in sorted(set(phrases), key=lambda phrase: (-len(phrase), phrase)):
            if MIN_LENGTH <= len(phrase) <= MAX_LENGTH and all(_is_han(char) for char in phrase):
                spoken = sounds(phrase)
                for key in _keys(spoken[0], spoken[1]):
                    self._by_prefix.setdefault(key, []).append((phrase, spoken))

    def find(self, text: str) -> list[SoundMatch]:
        """Windows of text that sound like a known phrase without being spelled like it."""
        found: list[SoundMatch] = []
        spoken = sounds(text)
        for start in range(len(text) - 1):
            seen: set[str] = set()
            for key in _keys(spoken[start], spoken[start + 1]):
                for phrase, phrase_sounds in self._by_prefix.get(key, ()):
                    if phrase in seen:
                        continue
                    seen.add(phrase)
                    end = start + len(phrase)
                    window = text[start:end]
                    if window != phrase and sounds_alike(spoken[start:end], phrase_sounds):
                        found.append(SoundMatch(start=start, window=window, phrase=phrase))
        return found
