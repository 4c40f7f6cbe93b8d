"""The matcher's word lists (synonyms, intent cues, stopwords), read from lexicon.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intents.normalize import compact

LEXICON_PATH = Path(__file__).with_name("lexicon.json")
# In order of precedence when two cues of the same length overlap.
CUE_KINDS = ("appeal_strong", "progress", "appeal", "policy")


@dataclass(frozen=True)
class Lexicon:
    """Normalised word lists; every term is in compact form (normalised, no spaces)."""

    # alias -> canonical term; a canonical term maps to itself.
    canonical: Mapping[str, str] = field(default_factory=dict)
    # kind (one of CUE_KINDS) -> cue terms
    cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    fallback_appeal_text: str = ""

    def canon(self, term: str) -> str:
        """The canonical form of a (compact) term, or the term itself."""
        return self.canonical.get(term, term)

    def words(self) -> set[str]:
        """Every synonym and cue term, for the segmenter's user dictionary."""
        found = set(self.canonical)
        for terms in self.cues.values():
            found.update(terms)
        return found


def _terms(values: Any, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ValueError(f"lexicon: {where} must be a list of strings")
    return tuple(term for term in (compact(value) for value in values) if term)


def parse_lexicon(data: Mapping[str, Any]) -> Lexicon:
    """Build a Lexicon from the JSON structure of lexicon.json."""
    canonical: dict[str, str] = {}
    for index, group in enumerate(data.get("synonyms", [])):
        terms = _terms(group, f"synonyms[{index}]")
        if not terms:
            continue
        for term in terms:
            canonical.setdefault(term, terms[0])
    raw_cues = data.get("cues", {})
    cues = {kind: _terms(raw_cues.get(kind, []), f"cues.{kind}") for kind in CUE_KINDS}
    stopwords = frozenset(_terms(data.get("stopwords", []), "stopwords"))
    fallback = data.get("fallback_appeal_text", "")
    if not isinstance(fallback, str):
        raise ValueError("lexicon: fallback_appeal_text must be a string")
    return Lexicon(canonical=canonical, cues=cues, stopwords=stopwords, fallback_appeal_text=fallback)


def load_lexicon(path: Path | None = None) -> Lexicon:
    """Read and parse lexicon.json (or another file of the same shape)."""
    with (path or LEXICON_PATH).open(encoding="utf-8") as handle:
        return parse_lexicon(json.load(handle))
