"""Recurring problems: appeal texts grouped by similarity (jieba words, rapidfuzz token-set ratio), for the report.

Greedy: the text with the most close neighbours starts a group with them, and so on; groups of one are left
out. Quadratic in the number of texts, computed in C by rapidfuzz's cdist; callers run it off the event loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import jieba
from rapidfuzz import fuzz, process

THRESHOLD = 60
MAX_TEXTS = 3000
STOP = {"我们", "可以", "一直", "已经", "现在", "目前", "没有", "什么", "怎么", "这个", "那个", "公司", "企业", "希望"}


@dataclass(frozen=True)
class Text:
    """One appeal as the clustering sees it."""

    reference: str
    category: str
    text: str


@dataclass(frozen=True)
class Cluster:
    """A recurring problem: how many appeals, its usual category, its words, and a few examples."""

    count: int
    category: str
    words: tuple[str, ...]
    examples: tuple[Text, ...]


def _words(text: str) -> list[str]:
    return [word for word in jieba.lcut(text) if len(word.strip()) > 1 and word not in STOP]


def clusters(texts: Sequence[Text], *, threshold: int = THRESHOLD, examples: int = 3) -> list[Cluster]:
    """Groups of similar appeal texts (two or more), the largest first."""
    texts = list(texts)[-MAX_TEXTS:]
    if len(texts) < 2:
        return []
    words = [_words(item.text) for item in texts]
    joined = [" ".join(found) for found in words]
    scores = process.cdist(joined, joined, scorer=fuzz.token_set_ratio, score_cutoff=threshold, workers=1)
    close = [{index for index, score in enumerate(row) if score >= threshold} for row in scores]
    left = set(range(len(texts)))
    found: list[Cluster] = []
    while left:
        seed = max(sorted(left), key=lambda index: len(close[index] & left))
        members = sorted(close[seed] & left | {seed})
        left -= set(members)
        if len(members) < 2:
            continue
        common = Counter(word for index in members for word in set(words[index])).most_common(5)
        category = Counter(texts[index].category for index in members).most_common(1)[0][0]
        found.append(
            Cluster(
                count=len(members),
                category=category,
                words=tuple(word for word, _ in common),
                examples=tuple(texts[index] for index in members[:examples]),
            )
        )
    return sorted(found, key=lambda cluster: -cluster.count)
