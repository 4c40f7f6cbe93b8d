"""Deciding with both kinds of evidence: fused policy scores, intent and unit from probabilities, when to ask.

The constants were chosen on the dev set (tests/data/eval/dev.jsonl, 5-fold) with bench/match_eval.py, never
on the frozen holdout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from intents.embedding import Vectors
from intents.records import CategoryDoc, Choice, Intent, Neighbour, PolicyDoc, PolicyHit, UnitCandidate
from intents.semantic import close_text

# Fused policy score = 1 - (1 - lexical) * (1 - DENSE_WEIGHT * closeness) (either kind of evidence can carry a
# match), where closeness maps a cosine from DENSE_LOW..DENSE_HIGH onto 0..1.
DENSE_WEIGHT = 0.7
DENSE_LOW = 0.82
DENSE_HIGH = 0.92
# Within this of the closest policy's cosine, meaning keeps a policy in the running.
DENSE_SPAN = 0.035
RELATIVE_FLOOR = 0.6
MAX_HITS = 5
# The best fused score a policy question needs; below it, no policy fits (the bot says so). Under FIT_SURE the
# bot lists what it found but says that none fits exactly. Chosen on dev so that 97% of answerable questions
# keep their list even with the lexicon emptied (a catalog whose words the lexicon does not know): with the
# shipped lexicon that tells about two thirds of the unanswerable ones that nothing fits (bench/match_eval.py).
FIT_MIN = 0.60
FIT_SURE = 0.72
# Two intents closer than this (probability) and neither above INTENT_SURE: ask.
INTENT_MARGIN = 0.25
INTENT_SURE = 0.6
# A message read as chit-chat that is this likely to be an appeal is an appeal: complaints are never dropped.
APPEAL_OVER_OTHER = 0.3
# The unit needs this probability to be dispatched directly; below it, 区营商办 triages (分拨).
UNIT_SURE = 0.45
# An example made by staff (a 签收, 转派 or 裁定) this close to a message decides its unit and category.
SAME_CASE = 0.95
MAX_CANDIDATES = 3


def closeness(cosine: Vectors | float) -> Vectors:
    """A cosine as 0..1 between DENSE_LOW and DENSE_HIGH."""
    found: Vectors = np.clip((np.asarray(cosine, dtype=np.float32) - DENSE_LOW) / (DENSE_HIGH - DENSE_LOW), 0.0, 1.0)
    return found


def fuse(
    lexical: Sequence[PolicyHit],
    dense: Vectors,
    docs: Sequence[PolicyDoc],
    positions: Mapping[str, int] | None = None,
) -> list[PolicyHit]:
    """Policies by fused score, best first, with their reasons (the shared terms, or the close text).

    `positions` maps a code to its place in `docs` (the matcher keeps one; made here when not given).
    """
    if not docs:
        return []
    by_code = {hit.code: hit for hit in lexical}
    where = positions if positions is not None else {doc.code: number for number, doc in enumerate(docs)}
    top = float(dense.max())
    # Only policies with lexical evidence or within DENSE_SPAN of the closest can rank: the rest are skipped in numpy.
    numbers = set(np.nonzero(dense >= top - DENSE_SPAN)[0].tolist())
    numbers.update(where[code] for code in by_code if code in where)
    near = closeness(dense[sorted(numbers)])
    scored: list[PolicyHit] = []
    for number, closeness_of in zip(sorted(numbers), near.tolist(), strict=True):
        doc = docs[number]
        hit = by_code.get(doc.code)
        lex = hit.score if hit else 0.0
        score = 1.0 - (1.0 - lex) * (1.0 - DENSE_WEIGHT * closeness_of)
        matched = hit.matched if hit else ()
        scored.append(PolicyHit(doc.code, doc.name, score, matched, "" if matched else close_text(doc)))
    scored.sort(key=lambda hit: (-hit.score, hit.code))
    if not scored:
        return []
    floor = scored[0].score * RELATIVE_FLOOR
    return [hit for hit in scored if hit.score >= floor][:MAX_HITS]


def pick_intent(probabilities: Mapping[Intent, float]) -> tuple[Intent, float, Intent | None]:
    """The intent, its probability, and the runner-up when the two are too close to call."""
    ranked = sorted(probabilities.items(), key=lambda item: -item[1])
    (first, p1), (second, p2) = ranked[0], ranked[1]
    if first == Intent.OTHER and probabilities.get(Intent.APPEAL, 0.0) >= APPEAL_OVER_OTHER:
        return Intent.APPEAL, probabilities[Intent.APPEAL], None
    close = p1 < INTENT_SURE and p1 - p2 < INTENT_MARGIN
    return first, p1, second if close else None


def intent_choices(
    first: Intent, second: Intent, hits: Sequence[PolicyHit], category: CategoryDoc | None
) -> tuple[Choice, ...]:
    """One clarifying question's numbered choices for two close intents (policy and appeal), else none."""
    if {first, second} != {Intent.POLICY, Intent.APPEAL} or not hits:
        return ()
    policy = Choice(f"了解“{hits[0].name}”", Intent.POLICY, hits[0].code)
    appeal = Choice("反映办理中遇到的问题", Intent.APPEAL, category.code if category else None)
    return (policy, appeal) if first == Intent.POLICY else (appeal, policy)


def units(probabilities: Mapping[str, float], categories: Mapping[str, CategoryDoc]) -> list[UnitCandidate]:
    """Units by probability (a category's probability goes to its lead unit), with their best category."""
    total: dict[str, float] = {}
    best: dict[str, tuple[float, str]] = {}
    for code, probability in probabilities.items():
        category = categories.get(code)
        if category is None:
            continue
        unit = category.lead_unit
        total[unit] = total.get(unit, 0.0) + probability
        if unit not in best or probability > best[unit][0]:
            best[unit] = (probability, code)
    ranked = sorted(total.items(), key=lambda item: -item[1])
    return [UnitCandidate(unit, probability, best[unit][1]) for unit, probability in ranked]


def same_case(nearest: Sequence[Neighbour]) -> Neighbour | None:
    """A staff-made example close enough to be the same case, if any."""
    for neighbour in nearest:
        example = neighbour.example
        if example.source not in {"seed", "category"} and example.unit and neighbour.similarity >= SAME_CASE:
            return neighbour
    return None
