"""Understanding one message: its intent, the policies it matches and, for an appeal, its category.

Pure: no database and no web. Build one Matcher per catalog version and reuse it; it is read-only
after construction, so threads and tasks may share it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from intents.category_index import CategoryIndex, CategoryMatch
from intents.intent import POLICY_ALONE, CueReader, IntentCall, decide
from intents.lexicon import Lexicon, load_lexicon
from intents.normalize import compact
from intents.policy_index import PolicyIndex
from intents.query import Query, Vocabulary
from intents.records import CategoryDoc, Choice, Intent, MatchResult, PolicyDoc, PolicyHit
from intents.segment import Segmenter

__all__ = ["CategoryDoc", "Choice", "MatchResult", "Matcher", "PolicyDoc", "PolicyHit", "find_reference"]

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


class Matcher:
    """Matches messages against a policy catalog and a routing table (both given as plain records)."""

    def __init__(
        self,
        policies: Sequence[PolicyDoc],
        categories: Sequence[CategoryDoc],
        *,
        lexicon: Lexicon | None = None,
        fallback_category: str | None = None,
    ) -> None:
        self.lexicon = lexicon or load_lexicon()
        self.policies = tuple(policies)
        self.categories = tuple(categories)
        self._by_code = {doc.code: doc for doc in self.policies}
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

    def policy(self, code: str) -> PolicyDoc | None:
        """The policy with this code, or None."""
        return self._by_code.get(code)

    def category(self, code: str) -> CategoryDoc | None:
        """The appeal category with this code, or None."""
        return next((category for category in self.categories if category.code == code), None)

    def read(self, text: str) -> Query:
        """The message as the indexes see it (normalised, repaired, its concepts)."""
        return self.vocabulary.read(text)

    def match(self, text: str, *, intent: Intent | None = None) -> MatchResult:
        """Intent, matching policies and (for an appeal) category of one message; `intent` forces the intent."""
        query = self.vocabulary.read(text)
        if not query.flat:
            return MatchResult(text=text, intent=Intent.OTHER, policies=(), category=None)
        reference = find_reference(text)
        cues = self._cues.read(query.flat)
        hits = self._policy_index.search(query)
        category_match = self._category_index.best(query)
        best = hits[0].score if hits else 0.0
        call = decide(
            cues,
            best_policy=best,
            category_coverage=self._complaint_coverage(category_match),
            has_reference=reference is not None,
        )
        chosen = intent or call.intent
        category: CategoryDoc | None = None
        if chosen == Intent.APPEAL:
            category = category_match.category if category_match else self._category_index.fallback
        kept: tuple[PolicyHit, ...] = ()
        if chosen == Intent.POLICY:
            kept = tuple(hits)
        elif chosen == Intent.APPEAL:
            # An appeal names a policy only clearly (e.g. a subsidy not paid), never through a stray word.
            kept = tuple(hit for hit in hits if hit.score >= POLICY_ALONE)[:1]
        choices: tuple[Choice, ...] = ()
        if intent is None and not (
            cues["broad"] and call.intent == Intent.POLICY
        ):  # a question for a list gets the list
            choices = self._choices(call, hits, category_match.category if category_match else None)
        return MatchResult(
            text=text, intent=chosen, policies=kept, category=category, reference=reference, choices=choices
        )

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
