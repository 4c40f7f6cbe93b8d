"""Meaning by vectors: the texts that stand for policies and categories, and the labelled examples as an index.

Pure numpy: the vectors come from an Embedder (intents.embedding); nothing here embeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from intents.embedding import Vectors
from intents.records import CategoryDoc, Example, Neighbour, PolicyDoc

# k-nearest-neighbour votes: the k nearest examples, each weighted exp((similarity - best) / TEMPERATURE).
K = 10
TEMPERATURE = 0.05
# A policy text shown as the close text of a match by meaning, at most this long.
CLOSE_CHARS = 40


def policy_passage(doc: PolicyDoc) -> str:
    """What a policy's vector is made of: name, who qualifies and the benefit."""
    return "。".join(part for part in (doc.name, doc.eligibility, doc.content) if part)


def category_passage(category: CategoryDoc) -> str:
    """What a category's vector is made of: name and description."""
    return "。".join(part for part in (category.name, category.description) if part)


def close_text(doc: PolicyDoc) -> str:
    """The policy text quoted when a match is by meaning: who qualifies, else the benefit, shortened."""
    text = (doc.eligibility or doc.content).strip()
    return text if len(text) <= CLOSE_CHARS else text[: CLOSE_CHARS - 1] + "…"


def top_k(similarity: Vectors, k: int) -> np.ndarray:
    """Indexes of the k largest values of each row, largest first."""
    k = min(k, similarity.shape[1])
    if k == 0:
        return np.zeros((similarity.shape[0], 0), dtype=np.int64)
    part = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(similarity, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def votes(similarity: Vectors, labels: np.ndarray, n_labels: int, *, k: int = K) -> Vectors:
    """Share of each label among the k nearest columns of each row (labels: column -> label number, -1 = none)."""
    rows = similarity.shape[0]
    found = np.zeros((rows, n_labels), dtype=np.float32)
    if similarity.shape[1] == 0:
        return found
    nearest = top_k(similarity, k)
    near = np.take_along_axis(similarity, nearest, axis=1)
    weights = np.exp((near - near[:, :1]) / TEMPERATURE)
    numbers = labels[nearest]
    for column in range(nearest.shape[1]):
        valid = numbers[:, column] >= 0
        found[np.nonzero(valid)[0], numbers[valid, column]] += weights[valid, column]
    total = found.sum(axis=1, keepdims=True)
    shares: Vectors = np.divide(found, total, out=np.zeros_like(found), where=total > 0)
    return shares


@dataclass(frozen=True)
class Ridge:
    """One-vs-rest ridge regression of labels on vectors: weights for new vectors, leave-one-out for training rows."""

    weights: Vectors
    loo: Vectors

    @classmethod
    def fit(cls, vectors: Vectors, targets: Vectors, *, penalty: float = 0.3) -> Ridge:
        """Fit in closed form; `loo` holds each training row's prediction without that row."""
        gram = vectors.T @ vectors + penalty * np.eye(vectors.shape[1], dtype=np.float32)
        inverse = np.linalg.inv(gram.astype(np.float64)).astype(np.float32)
        weights = (inverse @ vectors.T @ targets).astype(np.float32)
        fitted = vectors @ weights
        leverage = np.einsum("ij,jk,ik->i", vectors, inverse, vectors)
        loo = targets - (targets - fitted) / np.maximum(1e-3, 1 - leverage)[:, None]
        return cls(weights=weights, loo=loo.astype(np.float32))

    def predict(self, vectors: Vectors) -> Vectors:
        return vectors @ self.weights


class ExampleIndex:
    """Labelled examples and their vectors: nearest neighbours, votes by intent, category or unit."""

    def __init__(self, examples: Sequence[Example], vectors: Vectors) -> None:
        if len(examples) != vectors.shape[0]:
            raise ValueError("one vector per example")
        self.examples = tuple(examples)
        self.vectors = vectors
        self._labels: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        # Real appeals (not a category's own words): the ones shown to staff as the nearest cases.
        self.appeals = np.array([e.intent == "appeal" and e.source != "category" for e in self.examples], dtype=bool)

    def labels(self, field: str, names: Sequence[str], *, appeals_only: bool = False) -> np.ndarray:
        """Each example's `field` (intent or category) as its number in `names`, -1 when absent (cached)."""
        key = (field + ("/appeals" if appeals_only else ""), tuple(names))
        found = self._labels.get(key)
        if found is None:
            index = {name: number for number, name in enumerate(names)}
            found = np.array(
                [
                    index.get(getattr(example, field) or "", -1)
                    if not appeals_only or example.intent == "appeal"
                    else -1
                    for example in self.examples
                ],
                dtype=np.int64,
            )
            self._labels[key] = found
        return found

    def __len__(self) -> int:
        return len(self.examples)

    def similarity(self, vectors: Vectors) -> Vectors:
        """Cosine of each given vector (rows) with each example (columns)."""
        if vectors.shape[0] == 1:  # one message: a matrix-vector product, much cheaper than the general one
            found: Vectors = (self.vectors @ vectors[0])[None, :]
            return found
        return vectors @ self.vectors.T

    def nearest(
        self, vector: Vectors, *, k: int = 5, where: Sequence[bool] | np.ndarray | None = None
    ) -> list[Neighbour]:
        """The k examples nearest to one vector (optionally among those `where` marks), nearest first."""
        if not self.examples:
            return []
        similarity = self.vectors @ vector
        if where is not None:
            similarity = np.where(np.asarray(where, dtype=bool), similarity, -2.0)
        if len(self.examples) > k:  # the k best without sorting them all
            top = np.argpartition(-similarity, k)[:k]
            order = top[np.argsort(-similarity[top])]
            return [Neighbour(self.examples[i], float(similarity[i])) for i in order if similarity[i] > -2.0]
        order = np.argsort(-similarity)[:k]
        return [Neighbour(self.examples[i], float(similarity[i])) for i in order if similarity[i] > -2.0]


def unit_vector(values: Sequence[float]) -> Vectors:
    """Numbers as a unit float32 vector (for tests and tools)."""
    array = np.asarray(values, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array
