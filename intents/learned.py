"""Intent and category learned from labelled examples: logistic regression over lexical evidence and meaning.

Each message is read once (`Reading`): the cue words and scores of the lexical engine, and its vector. The
classifiers see, for the intent: the lexical evidence, the votes of the nearest examples, a ridge regression
of the intent on the vector, and the vector's closeness to each category; for the category: each category's
keyword score and closeness, the votes of the nearest appeal examples, and a ridge regression. Training rows
see votes without themselves and leave-one-out ridge scores, so the fit learns how far to trust them on new
text. The votes are taken over the examples of the moment, so a new example counts at once, before a refit.
Measured on the dev set (5-fold) in bench/match_eval.py; the choices above were made there.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from intents.embedding import Vectors
from intents.records import INTENTS, Example, Intent
from intents.semantic import ExampleIndex, Ridge, votes

INTENT_C = 10.0
CATEGORY_C = 1.0
CUE_CAP = 3
COVERAGE_CAP = 8
LENGTH_CAP = 200


@dataclass(frozen=True)
class Reading:
    """What the lexical engine and the vector say about one message: the classifiers' input."""

    cues: tuple[int, ...]  # count of cue words of each kind of CUE_KINDS
    best_policy: float  # best lexical policy score
    coverage: int  # characters covered by complaint keywords
    has_reference: bool
    rule: Intent  # the intent the cue rules decide
    dense_policy: float  # closeness to the nearest policy
    length: int
    category_scores: tuple[float, ...]  # keyword score of each category
    category_sims: Vectors  # closeness to each category
    vector: Vectors

    def lexical(self) -> list[float]:
        """The lexical evidence as numbers."""
        sims = self.category_sims
        return [
            *(min(count, CUE_CAP) for count in self.cues),
            self.best_policy,
            min(self.coverage, COVERAGE_CAP) / COVERAGE_CAP,
            float(self.has_reference),
            *(float(self.rule == intent) for intent in INTENTS),
            self.dense_policy,
            float(sims.max()) if sims.size else 0.0,
            min(self.length, LENGTH_CAP) / LENGTH_CAP,
        ]


def _numbers(values: Sequence[str | None], names: Sequence[str]) -> np.ndarray:
    index = {name: number for number, name in enumerate(names)}
    return np.array([index.get(value, -1) if value is not None else -1 for value in values], dtype=np.int64)


def _one_hot(numbers: np.ndarray, size: int) -> Vectors:
    found = np.zeros((len(numbers), size), dtype=np.float32)
    rows = np.nonzero(numbers >= 0)[0]
    found[rows, numbers[rows]] = 1.0
    return found


@dataclass(frozen=True)
class Linear:
    """A fitted logistic regression, kept as its coefficients (predicting needs numpy only)."""

    coef: Vectors  # classes × features (one row for two classes)
    intercept: Vectors
    classes: np.ndarray  # label numbers

    @classmethod
    def fit(cls, rows: Vectors, labels: np.ndarray, c: float) -> Linear:
        """Fit with scikit-learn (imported here: only fitting needs it)."""
        from sklearn.linear_model import LogisticRegression

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes on tiny example sets
            model = LogisticRegression(C=c, max_iter=3000).fit(rows, labels)
        return cls(
            np.asarray(model.coef_, dtype=np.float32),
            np.asarray(model.intercept_, dtype=np.float32),
            np.asarray(model.classes_, dtype=np.int64),
        )

    def proba(self, row: Vectors, size: int) -> Vectors:
        """Probability of each label number (0 for labels never seen in training)."""
        scores = self.coef @ row + self.intercept
        if len(self.classes) == 2 and scores.shape[0] == 1:
            positive = 1.0 / (1.0 + np.exp(-scores[0]))
            shares = np.array([1.0 - positive, positive], dtype=np.float32)
        else:
            exp = np.exp(scores - scores.max())
            shares = (exp / exp.sum()).astype(np.float32)
        found = np.zeros(size, dtype=np.float32)
        found[self.classes] = shares
        return found


@dataclass(frozen=True)
class Learned:
    """The fitted classifiers, for one set of categories (codes in order)."""

    categories: tuple[str, ...]
    intent_model: Linear
    intent_ridge: Ridge
    category_model: Linear | None
    category_ridge: Ridge | None
    examples: int

    @classmethod
    def fit(cls, examples: ExampleIndex, readings: Sequence[Reading], categories: Sequence[str]) -> Learned | None:
        """Fit both classifiers on the examples (read against the current catalog); None with too few examples."""
        codes = tuple(categories)
        intents = _numbers([example.intent for example in examples.examples], INTENTS)
        if len(set(intents.tolist()) - {-1}) < 2:
            return None
        vectors = examples.vectors
        similarity = examples.similarity(vectors)
        np.fill_diagonal(similarity, -2.0)  # a training row does not vote for itself
        ridge = Ridge.fit(vectors, _one_hot(intents, len(INTENTS)))
        rows = np.hstack(
            [
                np.array([reading.lexical() for reading in readings], dtype=np.float32),
                votes(similarity, intents, len(INTENTS)),
                ridge.loo,
                np.vstack([reading.category_sims for reading in readings]),
            ]
        )
        intent_model = Linear.fit(rows, intents, INTENT_C)
        category_model, category_ridge = cls._fit_categories(examples, readings, similarity, codes)
        return cls(codes, intent_model, ridge, category_model, category_ridge, len(examples))

    @staticmethod
    def _fit_categories(
        examples: ExampleIndex, readings: Sequence[Reading], similarity: Vectors, codes: tuple[str, ...]
    ) -> tuple[Linear | None, Ridge | None]:
        numbers = _numbers([example.category for example in examples.examples], codes)
        appeals = np.array([example.intent == Intent.APPEAL for example in examples.examples]) & (numbers >= 0)
        if len(set(numbers[appeals].tolist())) < 2:
            return None, None
        labels = np.where(appeals, numbers, -1)
        chosen = [int(i) for i in np.nonzero(appeals)[0]]
        ridge = Ridge.fit(examples.vectors[chosen], _one_hot(numbers[chosen], len(codes)))
        rows = np.hstack(
            [
                np.log1p(np.array([readings[i].category_scores for i in chosen], dtype=np.float32)),
                np.vstack([readings[i].category_sims for i in chosen]),
                votes(similarity[chosen], labels, len(codes)),
                ridge.loo,
            ]
        )
        return Linear.fit(rows, numbers[chosen], CATEGORY_C), ridge

    def intent(self, reading: Reading, examples: ExampleIndex) -> dict[Intent, float]:
        """Probability of each intent."""
        numbers = examples.labels("intent", INTENTS)
        similarity = examples.similarity(reading.vector[None, :])
        row = np.hstack(
            [
                np.array(reading.lexical(), dtype=np.float32),
                votes(similarity, numbers, len(INTENTS))[0],
                self.intent_ridge.predict(reading.vector[None, :])[0],
                reading.category_sims,
            ]
        )
        found = self.intent_model.proba(row, len(INTENTS))
        return {intent: float(found[number]) for number, intent in enumerate(INTENTS)}

    def category(self, reading: Reading, examples: ExampleIndex) -> dict[str, float]:
        """Probability of each category, for a message taken as an appeal ({} without a category model)."""
        if self.category_model is None or self.category_ridge is None:
            return {}
        numbers = examples.labels("category", self.categories, appeals_only=True)
        similarity = examples.similarity(reading.vector[None, :])
        row = np.hstack(
            [
                np.log1p(np.array(reading.category_scores, dtype=np.float32)),
                reading.category_sims,
                votes(similarity, numbers, len(self.categories))[0],
                self.category_ridge.predict(reading.vector[None, :])[0],
            ]
        )
        found = self.category_model.proba(row, len(self.categories))
        return {code: float(found[number]) for number, code in enumerate(self.categories)}


def save(learned: Learned, path: Path) -> None:
    """Write the fitted classifiers to an .npz file (no pickle), atomically."""
    arrays: dict[str, np.ndarray] = {
        "categories": np.array(learned.categories, dtype=str),
        "examples": np.array(learned.examples),
        "intent_coef": learned.intent_model.coef,
        "intent_intercept": learned.intent_model.intercept,
        "intent_classes": learned.intent_model.classes,
        "intent_ridge": learned.intent_ridge.weights,
    }
    if learned.category_model is not None and learned.category_ridge is not None:
        arrays |= {
            "category_coef": learned.category_model.coef,
            "category_intercept": learned.category_model.intercept,
            "category_classes": learned.category_model.classes,
            "category_ridge": learned.category_ridge.weights,
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.npz")
    np.savez(partial, **arrays)  # type: ignore[arg-type]
    os.replace(partial, path)


def load(path: Path) -> Learned | None:
    """Fitted classifiers written by save(); None when the file is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            empty = np.zeros((0, 0), dtype=np.float32)
            category: tuple[Linear | None, Ridge | None] = (None, None)
            if "category_coef" in data:
                category = (
                    Linear(data["category_coef"], data["category_intercept"], data["category_classes"]),
                    Ridge(data["category_ridge"], empty),
                )
            return Learned(
                categories=tuple(str(code) for code in data["categories"]),
                intent_model=Linear(data["intent_coef"], data["intent_intercept"], data["intent_classes"]),
                intent_ridge=Ridge(data["intent_ridge"], empty),
                category_model=category[0],
                category_ridge=category[1],
                examples=int(data["examples"]),
            )
    except (OSError, KeyError, ValueError):
        return None


def category_examples(texts: Sequence[tuple[str, str, str]]) -> list[Example]:
    """One example per category from its own words (code, text, lead unit), so that no category is unlearnable."""
    return [Example(text, Intent.APPEAL, code, unit, source="category") for code, text, unit in texts]
