"""Reading a text against the known vocabulary: the phrases in it, exact or sound-alike, as canonical concepts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from intents.lexicon import Lexicon
from intents.normalize import normalize
from intents.phrases import Found, PhraseScanner
from intents.pinyin import SoundIndex
from intents.segment import Segmenter

# A sound-alike window this short is trusted only when it is not a word of its own (见面 is not 减免) and
# touches a phrase found exactly (残保金能监免: 监免 beside 残保金).
SHORT_SOUND = 2


@dataclass(frozen=True)
class Query:
    """One message as the indexes see it."""

    text: str
    normalized: str
    flat: str
    # flat with sound-alike windows replaced by the phrases they sound like
    repaired: str
    # canonical concepts in text order, each once
    concepts: tuple[str, ...]
    # (what was written, the phrase it sounds like)
    repairs: tuple[tuple[str, str], ...]
    # jieba words of the repaired text in canonical form, without stopwords
    tokens: tuple[str, ...]


class Vocabulary:
    """The lexicon's terms and the catalog's phrases, found exactly or by sound."""

    def __init__(self, phrases: Iterable[str], *, lexicon: Lexicon, segmenter: Segmenter) -> None:
        self.lexicon = lexicon
        self.segmenter = segmenter
        terms = {term for term in set(lexicon.canonical) | set(phrases) if term and term not in lexicon.stopwords}
        self.scanner = PhraseScanner(terms)
        self._sounds = SoundIndex(terms)

    def concepts_in(self, flat: str) -> list[str]:
        """Canonical forms of every known phrase in compact text, nested ones included (the catalog side)."""
        canon = self.lexicon.canon
        return list(dict.fromkeys(canon(found.phrase) for found in self.scanner.find(flat)))

    def _sound_alikes(self, flat: str, exact: list[Found]) -> list[Found]:
        """Sound-alike windows that do not cut through a word; short ones only beside an exact find."""
        found = []
        boundaries: set[int] | None = None
        for match in self._sounds.find(flat):
            end = match.start + len(match.phrase)
            if boundaries is None:
                boundaries = self.segmenter.boundaries(flat)
            if match.start not in boundaries or end not in boundaries:
                continue
            if len(match.phrase) <= SHORT_SOUND and (
                self.segmenter.is_word(match.window)
                or match.window in self.scanner
                or not any(item.end >= match.start - 1 and item.start <= end + 1 for item in exact)
            ):
                continue
            found.append(Found(match.start, match.phrase))
        return found

    def read(self, text: str) -> Query:
        """Normalise a message and find its concepts: exact phrases first, then sound-alikes, longest first."""
        normalized = normalize(text)
        flat = normalized.replace(" ", "")
        exact = self.scanner.find(flat)
        sounds = self._sound_alikes(flat, exact)
        candidates = [(found, True) for found in exact] + [(found, False) for found in sounds]
        candidates.sort(key=lambda item: (-len(item[0].phrase), not item[1], item[0].start))
        # Longest first; a find inside a longer one adds nothing, one that overlaps it only partly stays
        # (社保费率: 社保费 and 费率). A sound-alike never overrides what is written exactly.
        chosen: list[tuple[Found, bool]] = []
        for found, is_exact in candidates:
            inside = any(
                (other.start <= found.start and found.end <= other.end)
                or (not is_exact and other_exact and other.start < found.end and found.start < other.end)
                for other, other_exact in chosen
            )
            if not inside:
                chosen.append((found, is_exact))
        chosen.sort(key=lambda item: item[0].start)
        repaired = flat
        repairs: list[tuple[str, str]] = []
        replaced_until = len(flat) + 1
        for found, is_exact in reversed(chosen):
            if not is_exact and found.end <= replaced_until:
                replaced_until = found.start
                repairs.append((flat[found.start : found.end], found.phrase))
                repaired = repaired[: found.start] + found.phrase + repaired[found.end :]
        canon = self.lexicon.canon
        # Aliases inside a longer find still say what they mean (个体户个税: 个体工商户, 个人所得税).
        kept = {id(found) for found, _exact in chosen}
        aliases = [(found, True) for found in exact if id(found) not in kept and canon(found.phrase) != found.phrase]
        ordered = sorted([*chosen, *aliases], key=lambda item: (item[0].start, -len(item[0].phrase)))
        concepts = tuple(dict.fromkeys(canon(found.phrase) for found, _exact in ordered))
        stop = self.lexicon.stopwords
        tokens = tuple(
            dict.fromkeys(
                canon(word)
                for word in self.segmenter.words(repaired)
                if len(word) >= 2 and not word.isdigit() and canon(word) not in stop and word not in stop
            )
        )
        return Query(
            text=text,
            normalized=normalized,
            flat=flat,
            repaired=repaired,
            concepts=concepts,
            repairs=tuple(reversed(repairs)),
            tokens=tokens,
        )
