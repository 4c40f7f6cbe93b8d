"""Choosing the appeal category of a message from the routing table's keywords."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from intents.cues import cover
from intents.lexicon import Lexicon
from intents.normalize import compact
from intents.records import CategoryDoc


@dataclass(frozen=True)
class CategoryMatch:
    """A category and how strongly the message names it (characters covered by its keywords)."""

    category: CategoryDoc
    coverage: int
    matched: tuple[str, ...]


class CategoryIndex:
    """Keyword look-up over the appeal categories, with a fallback for appeals that name none."""

    def __init__(
        self, categories: Sequence[CategoryDoc], *, lexicon: Lexicon, fallback_code: str | None = None
    ) -> None:
        self._categories = tuple(categories)
        self._keywords = [self._terms(category, lexicon) for category in self._categories]
        self.fallback = self._pick_fallback(lexicon, fallback_code)

    @staticmethod
    def _terms(category: CategoryDoc, lexicon: Lexicon) -> tuple[str, ...]:
        terms = {compact(keyword) for keyword in category.keywords}
        terms |= {lexicon.canon(term) for term in terms}
        return tuple(sorted(term for term in terms if term))

    def _pick_fallback(self, lexicon: Lexicon, fallback_code: str | None) -> CategoryDoc | None:
        if fallback_code is not None:
            for category in self._categories:
                if category.code == fallback_code:
                    return category
            raise ValueError(f"fallback category {fallback_code!r} is not in the routing table")
        best = self.best(compact(lexicon.fallback_appeal_text))
        if best is not None:
            return best.category
        return self._categories[0] if self._categories else None

    def best(self, text: str) -> CategoryMatch | None:
        """The category whose keywords cover most of compact text; the earlier one on a tie; None if none match."""
        winner: CategoryMatch | None = None
        for category, keywords in zip(self._categories, self._keywords, strict=True):
            covered: set[int] = set()
            matched = cover(text, keywords, covered)
            if matched and (winner is None or len(covered) > winner.coverage):
                winner = CategoryMatch(category=category, coverage=len(covered), matched=tuple(matched))
        return winner
