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

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

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


def _fit(rows: Vectors, labels: np.ndarray, c: float) -> object:
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes on tiny example sets
        return LogisticRegression(C=c, max_iter=3000).fit(rows, labels)


def _proba(model: object, row: Vectors, size: int) -> Vectors:
    found = np.zeros(size, dtype=np.float32)
    classes = model.classes_  # type: ignore[attr-defined]
    found[np.asarray(classes, dtype=np.int64)] = model.predict_proba(row[None, :])[0]  # type: ignore[attr-defined]
    return found


@dataclass(frozen=True)
class Learned:
    """The fitted classifiers, for one set of categories (codes in order)."""

    categories: tuple[str, ...]
    intent_model: object
    intent_ridge: Ridge
    category_model: object | None
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
        intent_model = _fit(rows, intents, INTENT_C)
        category_model, category_ridge = cls._fit_categories(examples, readings, similarity, codes)
        return cls(codes, intent_model, ridge, category_model, category_ridge, len(examples))

    @staticmethod
    def _fit_categories(
        examples: ExampleIndex, readings: Sequence[Reading], similarity: Vectors, codes: tuple[str, ...]
    ) -> tuple[object | None, Ridge | None]:
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
        return _fit(rows, numbers[chosen], CATEGORY_C), ridge

    def intent(self, reading: Reading, examples: ExampleIndex) -> dict[Intent, float]:
        """Probability of each intent."""
        numbers = _numbers([example.intent for example in examples.examples], INTENTS)
        similarity = examples.similarity(reading.vector[None, :])
        row = np.hstack(
            [
                np.array(reading.lexical(), dtype=np.float32),
                votes(similarity, numbers, len(INTENTS))[0],
                self.intent_ridge.predict(reading.vector[None, :])[0],
                reading.category_sims,
            ]
        )
        found = _proba(self.intent_model, row, len(INTENTS))
        return {intent: float(found[number]) for number, intent in enumerate(INTENTS)}

    def category(self, reading: Reading, examples: ExampleIndex) -> dict[str, float]:
        """Probability of each category, for a message taken as an appeal ({} without a category model)."""
        if self.category_model is None or self.category_ridge is None:
            return {}
        numbers = _numbers(
            [example.category if example.intent == Intent.APPEAL else None for example in examples.examples],
            self.categories,
        )
        similarity = examples.similarity(reading.vector[None, :])
        row = np.hstack(
            [
                np.log1p(np.array(reading.category_scores, dtype=np.float32)),
                reading.category_sims,
                votes(similarity, numbers, len(self.categories))[0],
                self.category_ridge.predict(reading.vector[None, :])[0],
            ]
        )
        found = _proba(self.category_model, row, len(self.categories))
        return {code: float(found[number]) for number, code in enumerate(self.categories)}


def category_examples(texts: Sequence[tuple[str, str, str]]) -> list[Example]:
    """One example per category from its own words (code, text, lead unit), so that no category is unlearnable."""
    return [Example(text, Intent.APPEAL, code, unit, source="category") for code, text, unit in texts]
