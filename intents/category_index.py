"""Choosing the appeal category of a message from the routing table's keywords.

A category scores by the characters its keywords cover in the message (and in the message's canonical
concepts, so 天然气 reaches a keyword written 燃气), each keyword weighted by how few categories share
it; character pairs shared with the category's name and keywords break ties and catch near wordings.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from intents.lexicon import Lexicon
from intents.normalize import compact
from intents.phrases import PhraseScanner
from intents.policy_index import pairs
from intents.query import Query
from intents.records import CategoryDoc

# A count of trips or times is folded to 几, so 跑了四趟 meets the keyword 跑了好几趟.
COUNT = re.compile(r"[0-9一二两三四五六七八九十百几多好]+(?=[趟次遍回])")
# Share of the pair overlap added to the keyword score, and the least pair overlap that picks a category alone.
PAIR_WEIGHT = 0.3
PAIR_ALONE = 3.0


def fold_counts(text: str) -> str:
    """Counts before 趟/次/遍/回 written as 几."""
    return COUNT.sub("几", text)


@dataclass(frozen=True)
class CategoryMatch:
    """A category and how strongly the message names it (characters covered by its keywords)."""

    category: CategoryDoc
    coverage: int
    matched: tuple[str, ...]
    score: float = 0.0


class CategoryIndex:
    """Keyword look-up over the appeal categories, with a fallback for appeals that name none."""

    def __init__(
        self, categories: Sequence[CategoryDoc], *, lexicon: Lexicon, fallback_code: str | None = None
    ) -> None:
        self._categories = tuple(categories)
        self._lexicon = lexicon
        owners: dict[str, set[int]] = {}
        for number, category in enumerate(self._categories):
            for keyword in self._terms(category, lexicon):
                owners.setdefault(keyword, set()).add(number)
        self._owners = owners
        self._scanner = PhraseScanner(owners)
        total = max(len(self._categories), 1)
        self._pairs: list[set[str]] = []
        frequency: Counter[str] = Counter()
        for category in self._categories:
            found = set(pairs("|".join([compact(category.name), *(compact(k) for k in category.keywords)])))
            self._pairs.append(found)
            frequency.update(found)
        self._pair_idf = {pair: math.log(1 + total / df) for pair, df in frequency.items()}
        self.fallback = self._pick_fallback(lexicon, fallback_code)

    @staticmethod
    def _terms(category: CategoryDoc, lexicon: Lexicon) -> set[str]:
        terms = {fold_counts(compact(keyword)) for keyword in category.keywords}
        terms |= {lexicon.canon(term) for term in terms}
        return {term for term in terms if len(term) >= 2}

    def _pick_fallback(self, lexicon: Lexicon, fallback_code: str | None) -> CategoryDoc | None:
        if fallback_code is not None:
            for category in self._categories:
                if category.code == fallback_code:
                    return category
            raise ValueError(f"fallback category {fallback_code!r} is not in the routing table")
        best = self.best_text(compact(lexicon.fallback_appeal_text))
        if best is not None:
            return best.category
        return self._categories[0] if self._categories else None

    def best_text(self, flat: str) -> CategoryMatch | None:
        """The best category for compact text alone."""
        return self._best(fold_counts(flat), fold_counts(flat))

    def best(self, query: Query) -> CategoryMatch | None:
        """The best category for a message (its repaired text and canonical concepts); None if nothing fits."""
        plain = fold_counts(query.repaired)
        return self._best(plain + "|" + "|".join(query.concepts), plain)

    def scores(self, query: Query) -> list[CategoryMatch]:
        """Every category's match for a message, in table order (score 0 and nothing matched when it is not named)."""
        plain = fold_counts(query.repaired)
        return self._scores(plain + "|" + "|".join(query.concepts), plain)

    def _best(self, text: str, plain: str) -> CategoryMatch | None:
        winner: CategoryMatch | None = None
        for found in self._scores(text, plain):
            if not found.matched and found.score < PAIR_WEIGHT * PAIR_ALONE:
                continue
            if winner is None or found.score > winner.score:
                winner = found
        return winner

    def _scores(self, text: str, plain: str) -> list[CategoryMatch]:
        if not self._categories:
            return []
        total = len(self._categories)
        keyword_score = [0.0] * total
        coverage: list[set[int]] = [set() for _ in range(total)]
        matched: list[list[str]] = [[] for _ in range(total)]
        # The message itself first; its canonical concepts (after the "|") add only keywords it did not show.
        for item in sorted(self._scanner.find(text), key=lambda item: (item.start > len(plain), -len(item.phrase))):
            owners = self._owners[item.phrase]
            span = range(item.start, item.end)
            same = self._lexicon.canon(item.phrase)
            for number in owners:
                if coverage[number].isdisjoint(span) and all(
                    self._lexicon.canon(seen) != same for seen in matched[number]
                ):
                    coverage[number].update(span)
                    keyword_score[number] += len(item.phrase) / len(owners)
                    matched[number].append(item.phrase)
        message_pairs = set(pairs(plain))
        found = []
        for number, category in enumerate(self._categories):
            overlap = sum(self._pair_idf[pair] for pair in message_pairs & self._pairs[number])
            score = keyword_score[number] + PAIR_WEIGHT * overlap
            found.append(CategoryMatch(category, len(coverage[number]), tuple(matched[number]), score))
        return found
