"""Scoring policies against a message: weighted term overlap, then fuzzy rescoring with rapidfuzz.

v1 on purpose: a later version replaces the overlap score with BM25 and adds pinyin; the public
surface (PolicyIndex.search) stays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from intents.normalize import compact, normalize
from intents.records import PolicyDoc, PolicyHit
from intents.segment import Segmenter

# How much a term counts, by where it occurs in the policy (the highest applies).
NAME_PHRASE_WEIGHT = 6.0
KEYWORD_WEIGHT = 3.0
NAME_TERM_WEIGHT = 2.0
KEYWORD_TERM_WEIGHT = 1.5
TAG_WEIGHT = 1.0
CONTENT_WEIGHT = 0.8
ELIGIBILITY_WEIGHT = 0.5
# raw evidence -> score in [0, 1): 1 - exp(-raw / SATURATION)
SATURATION = 3.0
# A policy is a hit when its score reaches MIN_SCORE and RELATIVE_FLOOR times the best score.
MIN_SCORE = 0.2
RELATIVE_FLOOR = 0.4
MAX_HITS = 5
# Fuzzy matching of whole names and keywords, for typos: phrases of at least FUZZY_MIN_LENGTH
# characters that reach FUZZY_MIN_RATIO (rapidfuzz partial_ratio, 0-100) somewhere in the message.
# One wrong character in a phrase of n characters scores 100 * (n - 1) / n: 85 forgives it from 7 characters on.
FUZZY_MIN_LENGTH = 6
FUZZY_MIN_RATIO = 85.0
# Terms of at least this length are also looked up as substrings of the message, not only as tokens.
SUBSTRING_MIN_LENGTH = 3


@dataclass(frozen=True)
class _Entry:
    doc: PolicyDoc
    weights: dict[str, float]
    phrases: dict[str, float]
    name_tokens: str


def _seen(term: str, accepted: Sequence[str]) -> bool:
    return any(term in other for other in accepted)


def _index_doc(doc: PolicyDoc, segmenter: Segmenter) -> _Entry:
    """The weighted terms of one policy; a term found in several places keeps its highest weight."""
    lexicon = segmenter.lexicon
    weights: dict[str, float] = {}

    def put(term: str, weight: float) -> None:
        if len(term) >= 2 and term not in lexicon.stopwords:
            weights[term] = max(weights.get(term, 0.0), weight)

    def put_terms(text: str, weight: float) -> None:
        for term in segmenter.terms(normalize(text)):
            put(term, weight)

    phrases = {lexicon.canon(compact(doc.name)): NAME_PHRASE_WEIGHT}
    for keyword in doc.keywords:
        phrases.setdefault(lexicon.canon(compact(keyword)), KEYWORD_WEIGHT)
    for phrase, weight in phrases.items():
        put(phrase, weight)
    put_terms(doc.name, NAME_TERM_WEIGHT)
    for keyword in doc.keywords:
        put_terms(keyword, KEYWORD_TERM_WEIGHT)
    for alias, canonical in lexicon.canonical.items():
        if any(alias in phrase for phrase in phrases):
            put(canonical, NAME_TERM_WEIGHT)
    for _key, value in doc.tags:
        put(lexicon.canon(compact(value)), TAG_WEIGHT)
        put_terms(value, TAG_WEIGHT)
    put_terms(doc.content, CONTENT_WEIGHT)
    put_terms(doc.eligibility, ELIGIBILITY_WEIGHT)
    name_tokens = " ".join(segmenter.terms(normalize(doc.name)))
    return _Entry(doc=doc, weights=weights, phrases=phrases, name_tokens=name_tokens)


class PolicyIndex:
    """An in-memory index of the published policies."""

    def __init__(self, docs: Sequence[PolicyDoc], *, segmenter: Segmenter) -> None:
        self._segmenter = segmenter
        self._entries = [_index_doc(doc, segmenter) for doc in docs]
        document_frequency: dict[str, int] = {}
        for entry in self._entries:
            for term in entry.weights:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        count = len(self._entries)
        scale = math.log(1 + count) if count else 1.0
        self._idf = {term: math.log(1 + count / df) / scale for term, df in document_frequency.items()}
        self._long_terms = tuple(sorted(term for term in document_frequency if len(term) >= SUBSTRING_MIN_LENGTH))

    def query_terms(self, text: str) -> tuple[set[str], list[str]]:
        """Canonical terms of normalised text (tokens, known aliases, known long terms) and its plain tokens."""
        lexicon = self._segmenter.lexicon
        flat = text.replace(" ", "")
        tokens = self._segmenter.terms(text)
        terms = set(tokens)
        for alias, canonical in lexicon.canonical.items():
            if alias in flat:
                terms.add(canonical)
        for term in self._long_terms:
            if term in flat:
                terms.add(term)
        return terms, tokens

    def search(self, text: str) -> list[PolicyHit]:
        """Policies matching normalised text, best first, at most MAX_HITS."""
        flat = text.replace(" ", "")
        if not flat or not self._entries:
            return []
        terms, tokens = self.query_terms(text)
        query_tokens = " ".join(tokens)
        scored: list[PolicyHit] = []
        for entry in self._entries:
            accepted: list[str] = []
            raw = 0.0
            for term in sorted((t for t in terms if t in entry.weights), key=lambda t: (-len(t), t)):
                if _seen(term, accepted):
                    continue
                accepted.append(term)
                raw += entry.weights[term] * self._idf.get(term, 1.0)
            fuzzy = self._fuzzy(entry, flat, accepted)
            if fuzzy is not None:
                phrase, strength = fuzzy
                accepted.append(phrase)
                raw += entry.phrases[phrase] * self._idf.get(phrase, 1.0) * strength
            if raw <= 0:
                continue
            score = 1.0 - math.exp(-raw / SATURATION)
            if query_tokens and entry.name_tokens:
                overlap = fuzz.token_set_ratio(query_tokens, entry.name_tokens) / 100.0
                score *= 0.85 + 0.15 * overlap
            scored.append(PolicyHit(code=entry.doc.code, name=entry.doc.name, score=score, matched=tuple(accepted)))
        scored.sort(key=lambda hit: (-hit.score, hit.code))
        if not scored:
            return []
        floor = max(MIN_SCORE, scored[0].score * RELATIVE_FLOOR)
        return [hit for hit in scored if hit.score >= floor][:MAX_HITS]

    def _fuzzy(self, entry: _Entry, flat: str, accepted: Sequence[str]) -> tuple[str, float] | None:
        """The best near miss among the policy's name and keywords: (phrase, strength in (0, 1])."""
        if any(term in entry.phrases for term in accepted):
            return None  # a name or keyword matched exactly: no need to guess
        best: tuple[str, float] | None = None
        for phrase in entry.phrases:
            if len(phrase) < FUZZY_MIN_LENGTH or len(flat) < len(phrase) - 1 or _seen(phrase, accepted):
                continue
            ratio = fuzz.partial_ratio(phrase, flat, score_cutoff=FUZZY_MIN_RATIO)
            if ratio >= FUZZY_MIN_RATIO:
                strength = (ratio - 50.0) / 50.0
                if best is None or strength > best[1]:
                    best = (phrase, strength)
        return best
