"""The matcher's word lists (synonym families, intent cues and patterns, stopwords), read from lexicon.json.

Admins add synonym groups at run time (the policy list's lexicon table); `with_groups` merges them
over the shipped file, the admin's canonical term winning for any alias both define.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from intents.normalize import compact

LEXICON_PATH = Path(__file__).with_name("lexicon.json")
# In order of precedence when two cues of the same length overlap. "broad" (asks for a list: 哪些, 有什么)
# has patterns only.
CUE_KINDS = ("appeal_strong", "progress", "progress_ref", "appeal", "policy", "other", "broad")


@dataclass(frozen=True)
class Lexicon:
    """Normalised word lists; every term is in compact form (normalised, no spaces)."""

    # alias -> canonical term; a canonical term maps to itself.
    canonical: Mapping[str, str] = field(default_factory=dict)
    # family name -> canonical terms of its groups (for documentation and tests)
    families: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # kind (one of CUE_KINDS) -> cue terms
    cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # kind -> compiled patterns matched against compact text
    patterns: Mapping[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
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

    def with_groups(self, groups: Iterable[Sequence[str]]) -> Lexicon:
        """This lexicon with extra synonym groups (first term canonical); they join a shipped group their head is in."""
        canonical = dict(self.canonical)
        added: list[str] = []
        for terms in (_terms(list(group), "extra group") for group in groups):
            if not terms:
                continue
            head = self.canonical.get(terms[0], terms[0])
            for term in terms:
                canonical[term] = head
            added.append(head)
        families = {**self.families, "admin": tuple(dict.fromkeys(added))} if added else dict(self.families)
        return replace(self, canonical=canonical, families=families)


def _terms(values: Any, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ValueError(f"lexicon: {where} must be a list of strings")
    return tuple(dict.fromkeys(term for term in (compact(value) for value in values) if term))


def _groups(data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Synonym groups by family: the "families" object, plus the flat "synonyms" list of older files."""
    families: dict[str, list[Any]] = {}
    raw = data.get("families", {})
    if not isinstance(raw, Mapping):
        raise ValueError("lexicon: families must be an object")
    for name, family in raw.items():
        groups = family.get("groups") if isinstance(family, Mapping) else None
        if not isinstance(groups, list):
            raise ValueError(f"lexicon: families.{name}.groups must be a list")
        families[str(name)] = groups
    if "synonyms" in data:
        if not isinstance(data["synonyms"], list):
            raise ValueError("lexicon: synonyms must be a list")
        families.setdefault("synonyms", []).extend(data["synonyms"])
    return families


def parse_lexicon(data: Mapping[str, Any]) -> Lexicon:
    """Build a Lexicon from the JSON structure of lexicon.json."""
    canonical: dict[str, str] = {}
    families: dict[str, tuple[str, ...]] = {}
    for name, groups in _groups(data).items():
        heads: list[str] = []
        for index, group in enumerate(groups):
            terms = _terms(group, f"{name}[{index}]")
            if not terms:
                continue
            heads.append(terms[0])
            for term in terms:
                canonical.setdefault(term, terms[0])
        families[name] = tuple(heads)
    raw_cues = data.get("cues", {})
    cues = {kind: _terms(raw_cues.get(kind, []), f"cues.{kind}") for kind in CUE_KINDS}
    raw_patterns = data.get("patterns", {})
    patterns: dict[str, tuple[re.Pattern[str], ...]] = {}
    for kind in CUE_KINDS:
        sources = raw_patterns.get(kind, [])
        if not isinstance(sources, list) or not all(isinstance(source, str) for source in sources):
            raise ValueError(f"lexicon: patterns.{kind} must be a list of strings")
        try:
            patterns[kind] = tuple(re.compile(source) for source in sources)
        except re.error as exc:
            raise ValueError(f"lexicon: patterns.{kind}: {exc}") from None
    stopwords = frozenset(_terms(data.get("stopwords", []), "stopwords"))
    fallback = data.get("fallback_appeal_text", "")
    if not isinstance(fallback, str):
        raise ValueError("lexicon: fallback_appeal_text must be a string")
    return Lexicon(
        canonical=canonical,
        families=families,
        cues=cues,
        patterns=patterns,
        stopwords=stopwords,
        fallback_appeal_text=fallback,
    )


def load_lexicon(path: Path | None = None) -> Lexicon:
    """Read and parse lexicon.json (or another file of the same shape)."""
    with (path or LEXICON_PATH).open(encoding="utf-8") as handle:
        return parse_lexicon(json.load(handle))
