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


@dataclass(frozen=True)
class PolicyHit:
    """A policy that matches a message, with the terms that made the match."""

    code: str
    name: str
    score: float
    matched: tuple[str, ...]


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

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the match result in docs/interfaces.md."""
        category = self.category if self.intent == Intent.APPEAL else None
        return {
            "text": self.text,
            "intent": self.intent,
            "policies": [
                {"code": hit.code, "name": hit.name, "score": round(hit.score, 2), "matched": list(hit.matched)}
                for hit in self.policies
            ],
            "category": {"code": category.code, "name": category.name} if category else None,
            "lead_unit": category.lead_unit if category else None,
            "units": list(category.units) if category else [],
        }
