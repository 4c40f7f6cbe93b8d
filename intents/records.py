"""Plain records the matcher reads and returns: policies, appeal categories and match results."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Intent(StrEnum):
    """What a message wants: a policy, to file an appeal, the progress of one, or something else."""

    POLICY = "policy"
    APPEAL = "appeal"
    PROGRESS = "progress"
    OTHER = "other"


INTENTS = tuple(Intent)


@dataclass(frozen=True)
class PolicyDoc:
    """One benefit policy as the matcher and the replies see it."""

    code: str
    name: str
    body: str
    content: str
    eligibility: str = ""
    process: str = ""
    materials: str = ""
    mode: str = "依申请"
    # (key, value) pairs in the catalog's order, e.g. (("行业", "制造业"), ("规模", "小微")).
    tags: tuple[tuple[str, str], ...] = ()
    keywords: tuple[str, ...] = ()
    url: str = ""

    def tag_map(self) -> dict[str, str]:
        """The tags as a dict."""
        return dict(self.tags)


@dataclass(frozen=True)
class CategoryDoc:
    """One appeal category of the routing table, with the units that answer for it."""

    code: str
    name: str
    keywords: tuple[str, ...]
    lead_unit: str
    units: tuple[str, ...]
    # What the category covers, in a sentence or two (part of the semantic signal).
    description: str = ""


@dataclass(frozen=True)
class PolicyHit:
    """A policy that matches a message, with the terms that made the match (or the close text, by meaning)."""

    code: str
    name: str
    score: float
    matched: tuple[str, ...]
    # When the meaning carried the match rather than shared words: the policy's text that was close.
    close: str = ""

    @property
    def reason(self) -> str:
        """Why it matched, in the words shown to users: the terms, or 语义相近 and the close text."""
        if self.matched:
            return "、".join(self.matched)
        return f"语义相近：{self.close}" if self.close else "语义相近"


@dataclass(frozen=True)
class Example:
    """A labelled message the classifier learns from: seeded, confirmed by a unit's 签收, or corrected by staff."""

    text: str
    intent: Intent
    category: str | None = None
    unit: str | None = None
    source: str = "seed"
    id: int = 0


@dataclass(frozen=True)
class Neighbour:
    """A labelled example close to a message, and how close (cosine)."""

    example: Example
    similarity: float


@dataclass(frozen=True)
class UnitCandidate:
    """A unit that may answer for an appeal, with its probability and the category it comes from."""

    unit: str
    probability: float
    category: str | None = None


@dataclass(frozen=True)
class Choice:
    """One numbered answer to a clarifying question: an intent and, for a policy, its code."""

    label: str
    intent: Intent
    code: str | None = None


@dataclass(frozen=True)
class MatchResult:
    """What a message wants, the policies it matches and, for an appeal, where it goes."""

    text: str
    intent: Intent
    policies: tuple[PolicyHit, ...]
    category: CategoryDoc | None
    # An appeal reference found in the text (e.g. "LH-20261127-0042"), upper-case; not part of to_dict().
    reference: str | None = None
    # When the engine is unsure: numbered choices to offer instead of an answer; not part of to_dict().
    choices: tuple[Choice, ...] = ()
    # How sure the engine is of the intent (a calibrated probability; 1.0 from the rules alone).
    confidence: float = 1.0
    # For an appeal: the unit chosen (None: the category's lead unit), how sure, and the units considered.
    unit: str | None = None
    unit_confidence: float = 1.0
    candidates: tuple[UnitCandidate, ...] = ()
    # Two units too close to call, or no category fits: 区营商办 triages (分拨) with the candidates shown.
    triage: bool = False
    # A policy question that no policy fits: the bot says so and records the question.
    no_fit: bool = False
    # The labelled examples nearest to the message (why the bot chose the unit).
    nearest: tuple[Neighbour, ...] = ()
    # The embedder that read the message ("none": lexical only).
    semantic: str = "none"

    @property
    def lead_unit(self) -> str | None:
        """The unit that leads an appeal: the one chosen from examples, else the category's lead unit."""
        if self.intent != Intent.APPEAL or self.category is None:
            return None
        return self.unit or self.category.lead_unit

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the match result in docs/interfaces.md."""
        category = self.category if self.intent == Intent.APPEAL else None
        return {
            "text": self.text,
            "intent": self.intent,
            "policies": [
                {
                    "code": hit.code,
                    "name": hit.name,
                    "score": round(hit.score, 2),
                    "matched": list(hit.matched),
                    "reason": hit.reason,
                }
                for hit in self.policies
            ],
            "category": {"code": category.code, "name": category.name} if category else None,
            "lead_unit": self.lead_unit,
            "units": [unit for unit in category.units if unit != self.lead_unit] if category else [],
            "confidence": round(self.confidence, 3),
            "no_fit": self.no_fit,
            "triage": self.triage if category else False,
            "candidates": [
                {"unit": item.unit, "probability": round(item.probability, 3), "category": item.category}
                for item in (self.candidates if category else ())
            ],
            "semantic": self.semantic,
        }
