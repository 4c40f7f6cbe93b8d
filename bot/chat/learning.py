"""How the live index learns: fitted classifiers reused across starts (a cache), and the semantic layer opened.

A fit is keyed by everything it was fitted on (policies, categories, lexicon, examples, model): processes
that start together, or again, load it instead of fitting (an .npz of coefficients, never a pickle).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from intents.embedding import EmbedderChoice, VectorCache, load_embedder
from intents.learned import Learned
from intents.learned import load as load_learned
from intents.learned import save as save_learned
from intents.matcher import Matcher, Semantic
from intents.records import Example
from routing import examples as example_store

log = logging.getLogger(__name__)

# Fitted classifiers by what they were fitted on, shared by the indexes of a process (tests start many).
_FITS: OrderedDict[str, Learned] = OrderedDict()
_FITS_LOCK = threading.Lock()


def _fit_key(matcher: Matcher, examples: list[Example]) -> str:
    digest = hashlib.sha1()
    for part in (matcher.policies, matcher.categories, sorted(matcher.lexicon.canonical.items())):
        digest.update(repr(part).encode())
    for example in examples:
        digest.update(repr((example.text, example.intent, example.category, example.unit, example.source)).encode())
    return digest.hexdigest()


def fit_cache_dir(configured: str = "") -> Path:
    """Where fitted classifiers are kept between starts: `matching.cache_dir`, else the user's cache folder."""
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "appealbot"


def learned_matcher(
    matcher: Matcher, examples: list[Example], *, cache_dir: Path | None = None, fit: bool = True
) -> Matcher:
    """The matcher with its classifiers fitted on `examples`; a fit of the same inputs is reused (memory, disk).

    With `fit=False` a fit not found in the caches is left for later: the matcher knows the examples but decides
    intent and category by the cue rules until the classifiers are fitted (the live index does it in the background).
    """
    if matcher.semantic is None:
        return matcher.learn(examples)
    key = f"{_fit_key(matcher, examples)}-{matcher.semantic.embedder.name}"
    path = (cache_dir or fit_cache_dir()) / f"fit-{key}.npz"
    with _FITS_LOCK:
        learned = _FITS.get(key)
    if learned is None and path.exists():
        learned = load_learned(path)
    if learned is not None or not fit:
        return matcher.learn(examples, refit=False, learned=learned)
    fitted = matcher.learn(examples)
    if fitted.learned is not None:
        with _FITS_LOCK:
            _FITS[key] = fitted.learned
            while len(_FITS) > 4:
                _FITS.popitem(last=False)
        try:
            save_learned(fitted.learned, path)
        except OSError:
            log.warning("match index: could not keep the fitted classifiers", extra={"path": str(path)})
    return fitted


def open_semantic(wanted: str, cache: VectorCache | None = None) -> tuple[Semantic | None, EmbedderChoice]:
    """The configured embedder with a vector cache holding the seed examples' shipped vectors; None to go lexical."""
    choice = load_embedder(wanted)
    if choice.embedder is None:
        if choice.problem:
            log.warning(
                "semantic matching unavailable: falling back to lexical matching",
                extra={"embedder": wanted, "problem": choice.problem},
            )
        return None, choice
    cache = cache or VectorCache()
    cache.load_file(example_store.SEED_VECTORS_PATH, model=choice.embedder.name)
    return Semantic(choice.embedder, cache), choice
