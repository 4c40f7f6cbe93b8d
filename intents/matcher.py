"""Understanding one message: its intent, the policies it matches and, for an appeal, its category.

Pure: no database and no web. Build one Matcher per catalog version and reuse it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from intents.category_index import CategoryIndex
from intents.cues import scan_cues
from intents.lexicon import Lexicon, load_lexicon
from intents.normalize import compact, normalize
from intents.policy_index import PolicyIndex
from intents.records import CategoryDoc, MatchResult, PolicyDoc, PolicyHit
from intents.segment import Segmenter

__all__ = ["CategoryDoc", "MatchResult", "Matcher", "PolicyDoc", "PolicyHit", "find_reference"]

# An appeal reference such as LH-20261127-0042: a letter prefix, a date and a sequence number.
REFERENCE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,6})-?(\d{8})-?(\d{3,6})(?![0-9])")
# A policy score that makes a message a policy question even without a cue word.
POLICY_ALONE = 0.45
# Weight of a strong complaint cue, of a weak one, of a keyword character of a category, and cap of the latter.
STRONG_CUE = 2.0
WEAK_CUE = 1.0
CATEGORY_CHAR = 0.5
CATEGORY_CAP = 3.0
APPEAL_MIN = 1.5
# How much the best policy score counts against complaint cues (a policy cue counts 1).
POLICY_SCORE_WEIGHT = 2.0


def find_reference(text: str) -> str | None:
    """The first appeal reference in text, upper-case with dashes (LH-20261127-0042), or None."""
    found = REFERENCE.search(unicodedata.normalize("NFKC", text))
    if found is None:
        return None
    prefix, day, number = found.groups()
    return f"{prefix.upper()}-{day}-{number}"


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
        words: set[str] = set()
        for doc in self.policies:
            words.add(compact(doc.name))
            words.update(compact(keyword) for keyword in doc.keywords)
            words.update(compact(value) for _key, value in doc.tags)
        for category in self.categories:
            words.update(compact(keyword) for keyword in category.keywords)
        self._segmenter = Segmenter(words, lexicon=self.lexicon)
        self._policy_index = PolicyIndex(self.policies, segmenter=self._segmenter)
        self._category_index = CategoryIndex(self.categories, lexicon=self.lexicon, fallback_code=fallback_category)

    def policy(self, code: str) -> PolicyDoc | None:
        """The policy with this code, or None."""
        return self._by_code.get(code)

    def match(self, text: str) -> MatchResult:
        """Intent, matching policies and (for an appeal) category of one message."""
        normalized = normalize(text)
        flat = normalized.replace(" ", "")
        if not flat:
            return MatchResult(text=text, intent="other", policies=(), category=None)
        reference = find_reference(text)
        cues = scan_cues(flat, self.lexicon.cues)
        hits = self._policy_index.search(normalized)
        category_match = self._category_index.best(flat)
        best = hits[0].score if hits else 0.0

        if reference is not None:
            intent = "progress"
        elif cues["progress"] and (len(cues["progress"]) >= 2 or not cues["appeal_strong"]):
            # "上次反映的拖欠款有进展吗" asks about progress; "我反映的问题没人管" is a complaint.
            intent = "progress"
        elif cues["appeal_strong"]:
            intent = "appeal"
        else:
            coverage = category_match.coverage if category_match else 0
            appeal_score = WEAK_CUE * len(cues["appeal"]) + min(CATEGORY_CAP, CATEGORY_CHAR * coverage)
            policy_score = len(cues["policy"]) + POLICY_SCORE_WEIGHT * best
            if appeal_score >= APPEAL_MIN and appeal_score > policy_score:
                intent = "appeal"
            elif cues["policy"] or best >= POLICY_ALONE:
                intent = "policy"
            elif appeal_score >= WEAK_CUE:
                intent = "appeal"
            else:
                intent = "other"

        category: CategoryDoc | None = None
        if intent == "appeal":
            category = category_match.category if category_match else self._category_index.fallback
        kept: tuple[PolicyHit, ...] = ()
        if intent == "policy":
            kept = tuple(hits)
        elif intent == "appeal":
            # An appeal names a policy only clearly (e.g. a subsidy not paid), never through a stray word.
            kept = tuple(hit for hit in hits if hit.score >= POLICY_ALONE)
        return MatchResult(text=text, intent=intent, policies=kept, category=category, reference=reference)
