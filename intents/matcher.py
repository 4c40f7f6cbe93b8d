"""Understanding one message: its intent, the policies it matches and, for an appeal, its category.

Pure: no database and no web. Build one Matcher per catalog version and reuse it; it is read-only
after construction, so threads and tasks may share it.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from intents import hybrid
from intents.category_index import CategoryIndex, CategoryMatch
from intents.embedding import Embedder, VectorCache, Vectors
from intents.intent import POLICY_ALONE, CueReader, IntentCall, decide
from intents.learned import Learned, Reading, category_examples
from intents.lexicon import CUE_KINDS, Lexicon, load_lexicon
from intents.normalize import compact
from intents.policy_index import PolicyIndex
from intents.query import Query, Vocabulary
from intents.records import (
    CategoryDoc,
    Choice,
    Example,
    Intent,
    MatchResult,
    Neighbour,
    PolicyDoc,
    PolicyHit,
    UnitCandidate,
)
from intents.segment import Segmenter
from intents.semantic import ExampleIndex, category_passage, policy_passage

__all__ = ["CategoryDoc", "Choice", "MatchResult", "Matcher", "PolicyDoc", "PolicyHit", "Semantic", "find_reference"]

# An appeal reference such as LH-20261127-0042: a letter prefix, a date and a sequence number.
REFERENCE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,6})-?(\d{8})-?(\d{3,6})(?![0-9])")
# Policies whose scores are this close (ratio) and all under ASK_BELOW leave the choice to the user.
ASK_BELOW = 0.5
ASK_RATIO = 0.9
# A message that reaches no intent but a policy at this score is offered that policy as a choice.
ASK_OTHER = 0.25
MAX_CHOICES = 3
# Separates the units of a policy's implementing body (实施主体): 甲局、乙局；丙局（组织申报）.
UNIT_SEPARATOR = re.compile(r"[、，,；;（）()]")


def find_reference(text: str) -> str | None:
    """The first appeal reference in text, upper-case with dashes (LH-20261127-0042), or None."""
    found = REFERENCE.search(unicodedata.normalize("NFKC", text))
    if found is None:
        return None
    prefix, day, number = found.groups()
    return f"{prefix.upper()}-{day}-{number}"


def catalog_phrases(policies: Sequence[PolicyDoc], categories: Sequence[CategoryDoc]) -> set[str]:
    """The catalog's own terms: policy names, bodies, keywords and tag values, category keywords (compact)."""
    phrases: set[str] = set()
    for doc in policies:
        phrases.add(compact(doc.name))
        phrases.update(compact(unit) for unit in UNIT_SEPARATOR.split(doc.body))
        phrases.update(compact(keyword) for keyword in doc.keywords)
        phrases.update(compact(value) for _key, value in doc.tags)
    for category in categories:
        phrases.update(compact(keyword) for keyword in category.keywords)
    return {phrase for phrase in phrases if len(phrase) >= 2}


@dataclass(frozen=True)
class Semantic:
    """The embedder and the cache of vectors a Matcher shares with its rebuilds."""

    embedder: Embedder
    cache: VectorCache

    def queries(self, texts: Sequence[str]) -> Vectors:
        return self.cache.vectors(self.embedder, texts, kind="query")

    def passages(self, texts: Sequence[str]) -> Vectors:
        return self.cache.vectors(self.embedder, texts, kind="passage")


@dataclass(frozen=True)
class _Evidence:
    """One message read by the lexical engine (and by the embedder when there is one)."""

    query: Query
    reference: str | None
    cues: dict[str, list[str]]
    lexical: list[PolicyHit]
    categories: list[CategoryMatch]
    category: CategoryMatch | None
    call: IntentCall
    vector: Vectors | None = None
    dense: Vectors | None = None
    category_sims: Vectors | None = None


class Matcher:
    """Matches messages against a policy catalog and a routing table (both given as plain records).

    Lexical alone by default; with `semantic` (an embedder and its vector cache) the policy retrieval is hybrid,
    and after `learn(examples)` intent and category come from classifiers fitted on labelled examples.
    """

    def __init__(
        self,
        policies: Sequence[PolicyDoc],
        categories: Sequence[CategoryDoc],
        *,
        lexicon: Lexicon | None = None,
        fallback_category: str | None = None,
        semantic: Semantic | None = None,
    ) -> None:
        self.lexicon = lexicon or load_lexicon()
        self.policies = tuple(policies)
        self.categories = tuple(categories)
        self._by_code = {doc.code: doc for doc in self.policies}
        self._position = {doc.code: number for number, doc in enumerate(self.policies)}
        self._category_by_code = {category.code: category for category in self.categories}
        phrases = catalog_phrases(self.policies, self.categories)
        self._segmenter = Segmenter(phrases, lexicon=self.lexicon)
        words = set(phrases)
        for doc in self.policies:
            for text in (doc.name, *doc.keywords):
                words.update(word for word in self._segmenter.words(compact(text)) if len(word) >= 2)
        self.vocabulary = Vocabulary(words, lexicon=self.lexicon, segmenter=self._segmenter)
        self._cues = CueReader(self.lexicon)
        self._policy_index = PolicyIndex(self.policies, vocabulary=self.vocabulary)
        # Category keywords that are also the catalog's benefit words (补贴, 返还) do not make a message a complaint.
        self._benefit_words = self._policy_index.concepts()
        self._category_index = CategoryIndex(self.categories, lexicon=self.lexicon, fallback_code=fallback_category)
        self.semantic = semantic
        self._policy_vectors: Vectors | None = None
        self._category_vectors: Vectors | None = None
        if semantic is not None:
            self._policy_vectors = semantic.passages([policy_passage(doc) for doc in self.policies])
            self._category_vectors = semantic.passages([category_passage(category) for category in self.categories])
        self.examples: ExampleIndex | None = None
        self.learned: Learned | None = None

    @property
    def mode(self) -> str:
        """ "hybrid" (lexical + meaning + learned), "semantic" (no classifier yet) or "lexical"."""
        if self.semantic is None:
            return "lexical"
        return "hybrid" if self.learned is not None else "semantic"

    def policy(self, code: str) -> PolicyDoc | None:
        """The policy with this code, or None."""
        return self._by_code.get(code)

    def category(self, code: str) -> CategoryDoc | None:
        """The appeal category with this code, or None."""
        return self._category_by_code.get(code)

    def read(self, text: str) -> Query:
        """The message as the indexes see it (normalised, repaired, its concepts)."""
        return self.vocabulary.read(text)

    # -- learning --------------------------------------------------------------------------------------

    def learn(self, examples: Sequence[Example], *, refit: bool = True, learned: Learned | None = None) -> Matcher:
        """A matcher sharing this one's indexes that knows `examples`; refits the classifiers, or keeps `learned`."""
        clone = copy.copy(self)
        if self.semantic is None:
            return clone
        own = category_examples(
            [(c.code, category_passage(c), c.lead_unit) for c in self.categories if c.description or c.name]
        )
        every = [*examples, *own]
        clone.examples = ExampleIndex(every, self.semantic.queries([example.text for example in every]))
        if refit:
            pairs = zip(every, clone.examples.vectors, strict=True)
            readings = [clone._reading(clone._evidence(example.text, vector)) for example, vector in pairs]
            clone.learned = Learned.fit(clone.examples, readings, [c.code for c in self.categories])
        elif learned is not None and learned.categories == tuple(c.code for c in self.categories):
            clone.learned = learned
        return clone

    def _evidence(self, text: str, vector: Vectors | None = None) -> _Evidence:
        query = self.vocabulary.read(text)
        reference = find_reference(text)
        cues = self._cues.read(query.flat)
        lexical = self._policy_index.scored(query)
        categories = self._category_index.scores(query)
        category = self._category_index.best(query)
        best = lexical[0].score if lexical else 0.0
        call = decide(
            cues,
            best_policy=best,
            category_coverage=self._complaint_coverage(category),
            has_reference=reference is not None,
        )
        evidence = _Evidence(query, reference, cues, lexical, categories, category, call)
        if self.semantic is None or self._policy_vectors is None or self._category_vectors is None:
            return evidence
        if vector is None:
            vector = self.semantic.queries([text])[0]
        return replace(
            evidence, vector=vector, dense=self._policy_vectors @ vector, category_sims=self._category_vectors @ vector
        )

    def _reading(self, evidence: _Evidence) -> Reading:
        assert evidence.vector is not None and evidence.dense is not None and evidence.category_sims is not None
        return Reading(
            cues=tuple(len(evidence.cues.get(kind, ())) for kind in CUE_KINDS),
            best_policy=evidence.lexical[0].score if evidence.lexical else 0.0,
            coverage=self._complaint_coverage(evidence.category),
            has_reference=evidence.reference is not None,
            rule=evidence.call.intent,
            dense_policy=float(evidence.dense.max()) if evidence.dense.size else 0.0,
            length=len(evidence.query.flat),
            category_scores=tuple(found.score for found in evidence.categories),
            category_sims=evidence.category_sims,
            vector=evidence.vector,
        )

    # -- matching --------------------------------------------------------------------------------------

    def match(self, text: str, *, intent: Intent | None = None) -> MatchResult:
        """Intent, matching policies and (for an appeal) category and unit of a message; `intent` forces the intent."""
        if not compact(text):
            return MatchResult(text=text, intent=Intent.OTHER, policies=(), category=None)
        evidence = self._evidence(text)
        if self.learned is not None and self.examples is not None and evidence.vector is not None:
            return self._match_learned(text, evidence, intent)
        return self._match_lexical(text, evidence, intent)

    def _hits(self, evidence: _Evidence) -> list[PolicyHit]:
        if evidence.dense is None:
            return self._policy_index.search(evidence.query)
        return hybrid.fuse(evidence.lexical, evidence.dense, self.policies, self._position)

    def _match_lexical(self, text: str, evidence: _Evidence, intent: Intent | None) -> MatchResult:
        hits = self._hits(evidence)
        call, found = evidence.call, evidence.category
        chosen = intent or call.intent
        category: CategoryDoc | None = None
        if chosen == Intent.APPEAL:
            category = found.category if found else self._category_index.fallback
        kept: tuple[PolicyHit, ...] = ()
        if chosen == Intent.POLICY:
            kept = tuple(hits) if evidence.dense is None or (hits and hits[0].score >= hybrid.FIT_MIN) else ()
        elif chosen == Intent.APPEAL:
            # An appeal names a policy only clearly (e.g. a subsidy not paid), never through a stray word.
            kept = tuple(hit for hit in hits if hit.score >= POLICY_ALONE)[:1]
        choices: tuple[Choice, ...] = ()
        if intent is None and not (evidence.cues["broad"] and call.intent == Intent.POLICY):
            choices = self._choices(call, hits, found.category if found else None)  # a question for a list: the list
        result = MatchResult(
            text=text,
            intent=chosen,
            policies=kept,
            category=category,
            reference=evidence.reference,
            choices=choices,
            no_fit=chosen == Intent.POLICY and not kept,
            semantic=self.semantic.embedder.name if self.semantic else "none",
        )
        if chosen == Intent.APPEAL and self.examples is not None and evidence.vector is not None:
            # Not fitted yet: the category stays the rules', but the district's own near-identical cases still decide.
            same = hybrid.same_case(self._nearest_appeals(evidence.vector))
            if same is not None:
                result = self._same_case(result, same, {category.code: 1.0} if category else {}, [], kept)
        return result

    def _nearest_appeals(self, vector: Vectors) -> tuple[Neighbour, ...]:
        assert self.examples is not None
        return tuple(self.examples.nearest(vector, k=hybrid.MAX_CANDIDATES, where=self.examples.appeals))

    def _same_case(
        self,
        result: MatchResult,
        same: Neighbour,
        probabilities: dict[str, float],
        candidates: list[UnitCandidate],
        kept: tuple[PolicyHit, ...],
    ) -> MatchResult:
        """An appeal decided by a staff-made example of the same case: its unit (and category)."""
        example = same.example
        category = self.category(example.category or "") or self._top_category(probabilities)
        chosen = UnitCandidate(example.unit or "", same.similarity, example.category)
        others = tuple(item for item in candidates if item.unit != chosen.unit)
        return replace(
            result,
            category=category,
            unit=chosen.unit,
            unit_confidence=same.similarity,
            candidates=(chosen, *others)[: hybrid.MAX_CANDIDATES],
            nearest=result.nearest or (same,),
            triage=False,
            policies=kept,
        )

    def _match_learned(self, text: str, evidence: _Evidence, forced: Intent | None) -> MatchResult:
        assert self.learned is not None and self.examples is not None and evidence.vector is not None
        reading = self._reading(evidence)
        probabilities = self.learned.intent(reading, self.examples)
        chosen, confidence, runner_up = hybrid.pick_intent(probabilities)
        if evidence.reference is not None and chosen != Intent.APPEAL:
            chosen = Intent.PROGRESS
        if forced is not None:
            chosen, runner_up = forced, None
        hits = self._hits(evidence)
        result = MatchResult(
            text=text,
            intent=chosen,
            policies=(),
            category=None,
            reference=evidence.reference,
            confidence=probabilities.get(chosen, confidence),
            semantic=self.semantic.embedder.name if self.semantic else "none",
        )
        if chosen == Intent.POLICY:
            fits = bool(hits) and hits[0].score >= hybrid.FIT_MIN
            result = replace(result, policies=tuple(hits) if fits else (), no_fit=not fits)
        elif chosen == Intent.APPEAL:
            result = self._route(result, reading, hits)
        if runner_up is not None:
            category = result.category or (evidence.category.category if evidence.category else None)
            result = replace(result, choices=hybrid.intent_choices(chosen, runner_up, hits, category))
        return result

    def _route(self, result: MatchResult, reading: Reading, hits: Sequence[PolicyHit]) -> MatchResult:
        """Category and unit of an appeal: the classifier, the district's own near-identical cases, or triage."""
        assert self.learned is not None and self.examples is not None
        appeals = [
            example.intent == Intent.APPEAL and example.source != "category" for example in self.examples.examples
        ]
        nearest = tuple(self.examples.nearest(reading.vector, k=hybrid.MAX_CANDIDATES, where=appeals))
        probabilities = self.learned.category(reading, self.examples)
        candidates = hybrid.units(probabilities, self._category_by_code)
        same = hybrid.same_case(nearest)
        kept = tuple(hit for hit in hits if hit.score >= POLICY_ALONE and hit.matched)[:1]
        if same is not None:
            example = same.example
            category = self.category(example.category or "") or self._top_category(probabilities)
            chosen = UnitCandidate(example.unit or "", same.similarity, example.category)
            others = tuple(item for item in candidates if item.unit != chosen.unit)
            return replace(
                result,
                category=category,
                unit=chosen.unit,
                unit_confidence=same.similarity,
                candidates=(chosen, *others)[: hybrid.MAX_CANDIDATES],
                nearest=nearest,
                policies=kept,
            )
        if not candidates:
            return replace(result, category=self._category_index.fallback, triage=True, nearest=nearest, policies=kept)
        top = candidates[0]
        return replace(
            result,
            category=self.category(top.category or "") or self._category_index.fallback,
            unit=top.unit,
            unit_confidence=top.probability,
            candidates=tuple(candidates[: hybrid.MAX_CANDIDATES]),
            triage=top.probability < hybrid.UNIT_SURE,
            nearest=nearest,
            policies=kept,
        )

    def _top_category(self, probabilities: dict[str, float]) -> CategoryDoc | None:
        if not probabilities:
            return self._category_index.fallback
        return self.category(max(probabilities, key=lambda code: probabilities[code]))

    def _complaint_coverage(self, found: CategoryMatch | None) -> int:
        """Characters of the message covered by category keywords that are not benefit words."""
        if found is None:
            return 0
        return sum(len(keyword) for keyword in found.matched if self.lexicon.canon(keyword) not in self._benefit_words)

    def _choices(self, call: IntentCall, hits: Sequence[PolicyHit], category: CategoryDoc | None) -> tuple[Choice, ...]:
        """Numbered choices when the engine is unsure; empty when it is sure enough to answer."""
        if call.close and hits:
            appeal = Choice("反映办理中遇到的问题", Intent.APPEAL, category.code if category else None)
            return (Choice(f"了解“{hits[0].name}”", Intent.POLICY, hits[0].code), appeal)
        if call.intent == Intent.POLICY and len(hits) >= 2:
            top = hits[0].score
            close = [hit for hit in hits if hit.score >= top * ASK_RATIO]
            if top < ASK_BELOW and len(close) >= 2:
                return tuple(Choice(hit.name, Intent.POLICY, hit.code) for hit in close[:MAX_CHOICES])
        if call.intent == Intent.OTHER and hits and hits[0].score >= ASK_OTHER:
            offered = [Choice(hit.name, Intent.POLICY, hit.code) for hit in hits[: MAX_CHOICES - 1]]
            return (*offered, Choice("都不是，我要反映问题", Intent.APPEAL, None))
        return ()
