"""Scoring policies against a message: BM25F over character pairs and concepts, then fuzzy rescoring.

Every field of a policy is indexed as its character pairs (robust to unknown words and typos) and as
the canonical concepts it contains (lexicon terms and the catalog's own phrases, so an alias such as
高企 meets 高新技术企业). The name counts most, then keywords, tags, content, eligibility and body.
The best candidates are rescored with rapidfuzz on jieba tokens joined by spaces, and with partial
ratios of names and keywords, by characters and by sound, for typing slips the lexicon cannot know.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from intents.normalize import compact
from intents.pinyin import spelled
from intents.query import Query, Vocabulary
from intents.records import PolicyDoc, PolicyHit

FIELD_WEIGHTS = {"name": 3.0, "keywords": 2.5, "tags": 1.2, "content": 1.0, "eligibility": 0.6, "body": 0.3}
K1 = 1.2
B = 0.5
# A concept counts this much more than one character pair.
CONCEPT_BOOST = 2.5
CONCEPT = "#"
# raw evidence -> score in [0, 1): 1 - exp(-raw / SATURATION)
SATURATION = 2.5
# A policy is a hit when its score reaches MIN_SCORE and RELATIVE_FLOOR times the best score.
MIN_SCORE = 0.2
RELATIVE_FLOOR = 0.5
MAX_HITS = 5
RESCORE = 20
# Query terms found in more than this share of the policies carry almost nothing; skipping them keeps search fast.
COMMON_SHARE = 0.5
# Typing slips: a name or keyword of at least FUZZY_MIN_LENGTH characters found at FUZZY_MIN_RATIO somewhere in
# the message (rapidfuzz partial_ratio; one wrong character in n scores 100 * (n - 1) / n), or by sound at SOUND_RATIO.
FUZZY_MIN_LENGTH = 5
FUZZY_MIN_RATIO = 85.0
SOUND_MIN_LENGTH = 4
SOUND_RATIO = 90.0
FUZZY_WEIGHT = 1.5
MAX_MATCHED = 4
# Characters that never start or end a term shown as the reason for a match.
PARTICLES = "的了吗呢啊吧呀是在和与及或就都也还又个我你他们这那有么把被给对"


def pairs(text: str) -> list[str]:
    """Adjacent character pairs of compact text, never across the field separator "|"."""
    return [text[index : index + 2] for index in range(len(text) - 1) if "|" not in text[index : index + 2]]


def _fields(doc: PolicyDoc) -> dict[str, str]:
    return {
        "name": compact(doc.name),
        "keywords": "|".join(compact(keyword) for keyword in doc.keywords),
        "tags": "|".join([*(compact(value) for _key, value in doc.tags), compact(doc.mode)]),
        "content": compact(doc.content),
        "eligibility": compact(doc.eligibility),
        "body": compact(doc.body),
    }


@dataclass(frozen=True)
class _Entry:
    doc: PolicyDoc
    text: str  # every indexed field, for matched-term look-ups
    concepts: frozenset[str]
    phrases: tuple[str, ...]  # name and keywords, compact
    name_tokens: str


class PolicyIndex:
    """An in-memory index of the published policies."""

    def __init__(self, docs: Sequence[PolicyDoc], *, vocabulary: Vocabulary) -> None:
        self._vocabulary = vocabulary
        self._entries: list[_Entry] = []
        texts = [_fields(doc) for doc in docs]
        average = {
            field: max(1.0, sum(len(fields[field]) for fields in texts) / max(len(texts), 1)) for field in FIELD_WEIGHTS
        }
        # Postings hold saturated term frequencies first, and are weighted by idf once every policy is in.
        postings: dict[str, tuple[array[int], array[float]]] = {}
        for number, (doc, fields) in enumerate(zip(docs, texts, strict=True)):
            blended: dict[str, float] = {}
            concepts: set[str] = set()
            for field, text in fields.items():
                found = vocabulary.concepts_in(text)
                concepts.update(found)
                norm = max(0.1, 1 - B + B * len(text) / average[field])
                weight = FIELD_WEIGHTS[field] / norm
                for term in pairs(text):
                    blended[term] = blended.get(term, 0.0) + weight
                for concept in found:
                    blended[CONCEPT + concept] = blended.get(CONCEPT + concept, 0.0) + weight
            for term, blend in blended.items():
                bucket = postings.get(term)
                if bucket is None:
                    bucket = postings[term] = (array("I"), array("f"))
                bucket[0].append(number)
                bucket[1].append(blend / (K1 + blend) * (CONCEPT_BOOST if term.startswith(CONCEPT) else 1.0))
            self._entries.append(self._entry(doc, fields, concepts))
        total = len(self._entries)
        scale = math.log(1 + (total + 0.5) / 0.5)
        self._idf: dict[str, float] = {}
        for term, (numbers, weights) in postings.items():
            df = len(numbers)
            idf = self._idf[term] = math.log(1 + (total - df + 0.5) / (df + 0.5)) / scale
            for index in range(df):
                weights[index] *= idf
        self._common = max(2, int(total * COMMON_SHARE))
        self._postings = postings

    def _entry(self, doc: PolicyDoc, fields: dict[str, str], concepts: set[str]) -> _Entry:
        lexicon = self._vocabulary.lexicon
        phrases = tuple(dict.fromkeys(p for p in (fields["name"], *fields["keywords"].split("|")) if p))
        words = self._vocabulary.segmenter.words(fields["name"])
        name_tokens = " ".join(dict.fromkeys(lexicon.canon(word) for word in words))
        return _Entry(doc, "|".join(fields.values()), frozenset(concepts), phrases, name_tokens)

    def __len__(self) -> int:
        return len(self._entries)

    def concepts(self) -> frozenset[str]:
        """Every concept found in some policy."""
        return frozenset(concept for entry in self._entries for concept in entry.concepts)

    def query_terms(self, query: Query) -> list[str]:
        """Character pairs of the repaired message and of its concepts, and the concepts themselves."""
        terms = pairs(query.repaired)
        for concept in query.concepts:
            terms.append(CONCEPT + concept)
            terms.extend(pairs(concept))
        return list(dict.fromkeys(terms))

    def search(self, query: Query) -> list[PolicyHit]:
        """Policies matching the message, best first, at most MAX_HITS."""
        scored = self.scored(query)
        if not scored:
            return []
        floor = max(MIN_SCORE, scored[0].score * RELATIVE_FLOOR)
        return [hit for hit in scored if hit.score >= floor][:MAX_HITS]

    def scored(self, query: Query) -> list[PolicyHit]:
        """Every policy that shares evidence with the message (the best RESCORE of them), best first, unfloored."""
        if not query.flat or not self._entries:
            return []
        raw: dict[int, float] = {}
        for term in self.query_terms(query):
            bucket = self._postings.get(term)
            if bucket is None or (len(bucket[0]) > self._common and not term.startswith(CONCEPT)):
                continue
            for number, weight in zip(*bucket, strict=True):
                raw[number] = raw.get(number, 0.0) + weight
        candidates = heapq.nlargest(RESCORE, raw.items(), key=lambda item: (item[1], -item[0]))
        sound = spelled(query.repaired)
        scored: list[PolicyHit] = []
        query_tokens = " ".join(query.tokens)
        for number, evidence in candidates:
            entry = self._entries[number]
            matched = self._matched(entry, query)
            slip = self._slip(entry, query.repaired, sound, matched)
            if slip is not None:
                evidence += FUZZY_WEIGHT * slip[1]
                matched.append(slip[0])
            if not matched:
                continue
            score = 1.0 - math.exp(-evidence / SATURATION)
            if query_tokens and entry.name_tokens:
                score *= 0.85 + 0.15 * fuzz.token_set_ratio(query_tokens, entry.name_tokens) / 100.0
            scored.append(PolicyHit(entry.doc.code, entry.doc.name, score, tuple(matched[:MAX_MATCHED])))
        scored.sort(key=lambda hit: (-hit.score, hit.code))
        return scored

    def _matched(self, entry: _Entry, query: Query) -> list[str]:
        """The message's concepts found in the policy, then runs of shared characters that no concept covers."""
        matched = [concept for concept in query.concepts if concept in entry.concepts]
        text, repaired = entry.text, query.repaired
        run_start = None
        stop = self._vocabulary.lexicon.stopwords
        for index in range(len(repaired)):
            inside = index < len(repaired) - 1 and repaired[index : index + 2] in text
            if inside and run_start is None:
                run_start = index
            elif not inside and run_start is not None:
                run = repaired[run_start : index + 1].strip(PARTICLES)
                run_start = None
                if len(run) >= 2 and run not in stop and not any(run in concept for concept in matched):
                    matched.append(run)
        return matched

    @staticmethod
    def _slip(entry: _Entry, flat: str, sound: str, matched: list[str]) -> tuple[str, float] | None:
        """The best near miss among the policy's name and keywords: (phrase, strength in (0, 1])."""
        if any(phrase in matched for phrase in entry.phrases):
            return None
        best: tuple[str, float] | None = None
        for phrase in entry.phrases:
            if len(flat) < len(phrase) - 1 or any(phrase in concept for concept in matched):
                continue
            ratio = 0.0
            if len(phrase) >= FUZZY_MIN_LENGTH:
                ratio = fuzz.partial_ratio(phrase, flat, score_cutoff=FUZZY_MIN_RATIO)
            if not ratio and len(phrase) >= SOUND_MIN_LENGTH:
                ratio = fuzz.partial_ratio(spelled(phrase), sound, score_cutoff=SOUND_RATIO)
            strength = (ratio - 50.0) / 50.0 if ratio else 0.0
            if strength and (best is None or strength > best[1]):
                best = (phrase, strength)
        return best
