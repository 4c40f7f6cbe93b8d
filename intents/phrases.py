"""Finding many known phrases in a text at once, in time proportional to the text, not to the vocabulary."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Found:
    """One occurrence of a known phrase."""

    start: int
    phrase: str

    @property
    def end(self) -> int:
        return self.start + len(self.phrase)


class PhraseScanner:
    """Known phrases of two characters or more, indexed by their first two characters."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._by_prefix: dict[str, list[str]] = {}
        for phrase in set(phrases):
            if len(phrase) >= 2:
                self._by_prefix.setdefault(phrase[:2], []).append(phrase)
        for bucket in self._by_prefix.values():
            bucket.sort(key=lambda phrase: (-len(phrase), phrase))

    def __contains__(self, phrase: str) -> bool:
        return phrase in self._by_prefix.get(phrase[:2], ())

    def find(self, text: str) -> list[Found]:
        """Every occurrence of every known phrase, by start, longest first at each start."""
        found: list[Found] = []
        for start in range(len(text) - 1):
            for phrase in self._by_prefix.get(text[start : start + 2], ()):
                if text.startswith(phrase, start):
                    found.append(Found(start, phrase))
        return found

    def cover(self, text: str) -> list[Found]:
        """Occurrences chosen longest first, none overlapping an earlier choice; in text order."""
        chosen: list[Found] = []
        taken = [False] * len(text)
        for item in sorted(self.find(text), key=lambda item: (-len(item.phrase), item.start)):
            if not any(taken[item.start : item.end]):
                for index in range(item.start, item.end):
                    taken[index] = True
                chosen.append(item)
        return sorted(chosen, key=lambda item: item.start)
