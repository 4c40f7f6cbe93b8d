"""Word segmentation with a private jieba tokenizer that knows the catalog's own terms."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import jieba

from intents.lexicon import Lexicon

# jieba logs every dictionary load at DEBUG on its own stderr handler; keep it quiet.
jieba.setLogLevel(logging.WARNING)

# Frequency given to user words: high enough to keep them whole, as jieba's own suggest_freq would.
USER_WORD_FREQ = 50_000
_BASE_LOCK = threading.Lock()
_base: Any = None


def _base_tokenizer() -> Any:
    """jieba's default dictionary, loaded once per process and shared by every Segmenter."""
    global _base
    with _BASE_LOCK:
        if _base is None:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _base = tokenizer
        return _base


class _Overlay(dict[str, int]):
    """A Segmenter's own words over jieba's shared dictionary, so each index does not copy 500,000 entries."""

    def __init__(self, base: dict[str, int]) -> None:
        super().__init__()
        self._base = base

    def __missing__(self, key: str) -> int:
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self._base

    def get(self, key: str, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return self._base.get(key, default)


def _fresh_tokenizer() -> Any:
    base = _base_tokenizer()
    tokenizer = jieba.Tokenizer()
    try:
        tokenizer.FREQ = _Overlay(base.FREQ)
        tokenizer.total = base.total
        tokenizer.initialized = True
    except AttributeError:  # a jieba without these internals: load the dictionary again
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
    return tokenizer


class Segmenter:
    """Cuts normalised text into canonical terms; user words stay whole."""

    def __init__(self, words: Iterable[str], *, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._tokenizer = _fresh_tokenizer()
        for word in sorted(set(words) | lexicon.words()):
            if len(word) >= 2 and " " not in word:
                self._tokenizer.add_word(word, freq=USER_WORD_FREQ)

    def is_word(self, text: str) -> bool:
        """True when jieba's general dictionary knows text as a word (user words aside)."""
        return bool(_base_tokenizer().FREQ.get(text))

    def boundaries(self, text: str) -> set[int]:
        """Offsets where jieba's accurate mode starts or ends a word in text."""
        found = {len(text)}
        found.update(start for _word, start, _end in self._tokenizer.tokenize(text, HMM=False))
        return found

    def words(self, text: str) -> list[str]:
        """Words of normalised text (jieba's accurate mode, user words kept whole), spaces dropped."""
        return [token for token in self._tokenizer.lcut(text, HMM=False) if token.strip()]

    def tokens(self, text: str) -> list[str]:
        """All search tokens of normalised text (words and their known sub-words), spaces dropped."""
        return [token for token in self._tokenizer.lcut_for_search(text, HMM=False) if token.strip()]

    def terms(self, text: str) -> list[str]:
        """Meaningful canonical terms of normalised text: no stopwords, single characters or bare numbers."""
        found: list[str] = []
        seen: set[str] = set()
        for token in self.tokens(text):
            term = self.lexicon.canon(token)
            if len(term) < 2 or term.isdigit() or term in self.lexicon.stopwords or term in seen:
                continue
            seen.add(term)
            found.append(term)
        return found
