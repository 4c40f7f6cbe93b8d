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


def _fit_keys(matcher: Matcher, examples: list[Example]) -> tuple[str, str]:
    """(what the classifiers learn from: categories, lexicon, examples, model; the catalog they were read against)."""
    digest = hashlib.sha1()
    for part in (matcher.categories, sorted(matcher.lexicon.canonical.items())):
        digest.update(repr(part).encode())
    for example in examples:
        digest.update(repr((example.text, example.intent, example.category, example.unit, example.source)).encode())
    model = matcher.semantic.embedder.name if matcher.semantic else "none"
    catalog = hashlib.sha1(repr(matcher.policies).encode()).hexdigest()[:16]
    return f"{digest.hexdigest()}-{model}", catalog


def _find(folder: Path, learns: str, catalog: str, *, exact: bool) -> Learned | None:
    """A fit from memory or disk: for this catalog, or (not exact) for any catalog, the newest first."""
    with _FITS_LOCK:
        found = _FITS.get(f"{learns}-{catalog}")
        if found is None and not exact:
            found = next((fit for key, fit in reversed(_FITS.items()) if key.startswith(learns)), None)
    if found is not None:
        return found
    path = folder / f"fit-{learns}-{catalog}.npz"
    if path.exists():
        return load_learned(path)
    if exact:
        return None
    others = sorted(folder.glob(f"fit-{learns}-*.npz"), key=lambda item: item.stat().st_mtime, reverse=True)
    return load_learned(others[0]) if others else None


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

    With `fit=True` (the CLI, a refit) the fit is for this very catalog. With `fit=False` (a server starting) a fit
    of the same examples read against another catalog is good enough (the catalog weighs little in them); with
    none at all, the matcher decides intent and category by the cue rules until the live index has fitted them.
    """
    if matcher.semantic is None:
        return matcher.learn(examples)
    learns, catalog = _fit_keys(matcher, examples)
    key = f"{learns}-{catalog}"
    folder = cache_dir or fit_cache_dir()
    path = folder / f"fit-{key}.npz"
    learned = _find(folder, learns, catalog, exact=fit)
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
