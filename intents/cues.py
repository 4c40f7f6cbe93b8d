"""Finding cue words in a message, longest first, each character counted once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def occurrences(text: str, term: str) -> list[int]:
    """Start offsets of every occurrence of term in text."""
    found = []
    start = text.find(term)
    while start >= 0:
        found.append(start)
        start = text.find(term, start + 1)
    return found


def cover(text: str, terms: Iterable[str], covered: set[int] | None = None) -> list[str]:
    """The terms found in text, longest first, skipping occurrences that overlap an earlier find.

    Among terms of the same length the one given first wins. `covered` (character offsets already
    taken) is updated in place when given.
    """
    taken = covered if covered is not None else set()
    found: list[str] = []
    for term in sorted(dict.fromkeys(terms), key=len, reverse=True):
        for start in occurrences(text, term):
            span = range(start, start + len(term))
            if taken.isdisjoint(span):
                taken.update(span)
                if term not in found:
                    found.append(term)
    return found


def scan_cues(text: str, cues: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Cue terms of each kind found in compact text.

    A longer cue of any kind beats a shorter one it overlaps; on equal length the kind given first wins.
    """
    kind_of: dict[str, str] = {}
    for kind, terms in cues.items():
        for term in terms:
            kind_of.setdefault(term, kind)
    found: dict[str, list[str]] = {kind: [] for kind in cues}
    for term in cover(text, kind_of):
        found[kind_of[term]].append(term)
    return found
