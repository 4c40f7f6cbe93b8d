"""What a message wants (policy, appeal, progress, other), from cue words, patterns and match scores.

A complaint that names a policy ("稳岗返还申请了半年还没到账") is an appeal: complaint cues outrank
policy words. A question asked with irritation ("到底怎么申请？？") stays a question: irritation alone
is no complaint. Progress needs a question about state (进展, 怎么样了) about something said before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from intents.lexicon import CUE_KINDS, Lexicon
from intents.phrases import PhraseScanner
from intents.records import Intent

# A policy score that makes a message a policy question even without a cue word.
POLICY_ALONE = 0.45
# A policy score enough when a policy cue word is present.
POLICY_WITH_CUE = 0.2
WEAK_CUE = 1.0
CATEGORY_CHAR = 0.5
CATEGORY_CAP = 3.0
APPEAL_MIN = 1.5
POLICY_CUE_CAP = 3
POLICY_SCORE_WEIGHT = 2.0
# Policy and appeal evidence closer than this (and both present) leave the intent open: the bot asks.
CLOSE_CALL = 0.75


@dataclass(frozen=True)
class IntentCall:
    """The intent chosen, and whether policy and appeal were a close call."""

    intent: Intent
    close: bool = False


class CueReader:
    """Finds the cue words of every kind in compact text, longest first, and the kinds whose patterns match."""

    def __init__(self, lexicon: Lexicon) -> None:
        self._kind_of: dict[str, str] = {}
        for kind in CUE_KINDS:
            for term in lexicon.cues.get(kind, ()):
                self._kind_of.setdefault(term, kind)
        self._scanner = PhraseScanner(self._kind_of)
        self._patterns = lexicon.patterns

    def read(self, flat: str) -> dict[str, list[str]]:
        """Cue terms (and pattern matches) of each kind found in compact text."""
        found: dict[str, list[str]] = {kind: [] for kind in CUE_KINDS}
        for item in self._scanner.cover(flat):
            found[self._kind_of[item.phrase]].append(item.phrase)
        for kind, patterns in self._patterns.items():
            for pattern in patterns:
                match = pattern.search(flat)
                if match and not any(match.group(0) in cue or cue in match.group(0) for cue in found[kind]):
                    found[kind].append(match.group(0))
        return found


def decide(
    cues: Mapping[str, list[str]], *, best_policy: float, category_coverage: int, has_reference: bool
) -> IntentCall:
    """The intent of a message from its cues, its best policy score and its category coverage."""
    if has_reference:
        return IntentCall(Intent.PROGRESS)
    strong, weak = cues["appeal_strong"], cues["appeal"]
    asks_state, earlier = cues["progress"], cues["progress_ref"]
    if asks_state and (earlier or not strong):
        return IntentCall(Intent.PROGRESS)
    if strong:
        return IntentCall(Intent.APPEAL)
    appeal_score = WEAK_CUE * len(weak) + min(CATEGORY_CAP, CATEGORY_CHAR * category_coverage)
    policy_score = min(POLICY_CUE_CAP, len(cues["policy"])) + POLICY_SCORE_WEIGHT * best_policy
    close = appeal_score >= APPEAL_MIN and best_policy >= POLICY_ALONE and abs(appeal_score - policy_score) < CLOSE_CALL
    if appeal_score >= APPEAL_MIN and appeal_score > policy_score and not (cues["other"] and not weak):
        return IntentCall(Intent.APPEAL, close)
    if best_policy >= POLICY_ALONE or (cues["policy"] and best_policy >= POLICY_WITH_CUE):
        return IntentCall(Intent.POLICY, close)
    if cues["other"]:
        return IntentCall(Intent.OTHER)
    if appeal_score >= WEAK_CUE and weak:
        return IntentCall(Intent.APPEAL)
    if earlier:
        return IntentCall(Intent.PROGRESS)
    return IntentCall(Intent.OTHER)
