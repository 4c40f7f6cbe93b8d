"""Accuracy of the matching engine on a labelled message set, next to two baselines run in the same invocation.

    .venv/bin/python bench/match_eval.py [--data tests/data/messages.jsonl] [--catalog FILE.json] [--errors]

Figures: intent accuracy; policy hit@1 and hit@3 over the policy questions (the policies the engine
returns for the message, so a wrong intent is a miss); lead-unit and category accuracy over the appeals.

Baselines, retrieval only: each scores the message against the policies and against the appeal
categories; the better side decides policy or appeal, a best score under the baseline's threshold
means other (they never say progress); the best category gives the lead unit.
- bm25: bm25s over jieba tokens (policies: name, keywords, tags, content; categories: name, description, keywords);
- wratio: rapidfuzz WRatio of the message against policy names and category names.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intents.matcher import Matcher  # noqa: E402
from intents.normalize import normalize  # noqa: E402
from intents.records import CategoryDoc, PolicyDoc  # noqa: E402
from policies.catalog import doc_from_record, read_demo_catalog  # noqa: E402
from routing.table import category_doc_from_record, read_default_table  # noqa: E402

DATA = ROOT / "tests" / "data" / "messages.jsonl"


@dataclass(frozen=True)
class Guess:
    """What a system says about one message."""

    intent: str
    policies: tuple[str, ...]
    lead_unit: str | None
    category: str | None


def load_messages(path: Path) -> list[dict[str, Any]]:
    """The labelled messages, one JSON object a line."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_catalog(path: Path | None) -> list[PolicyDoc]:
    """Policies from a JSON file ({"policies": [...]} or a list), or the shipped demo catalog."""
    if path is None:
        return [doc_from_record(record) for record in read_demo_catalog()]
    data = json.loads(path.read_text(encoding="utf-8"))
    records = data["policies"] if isinstance(data, dict) else data
    return [doc_from_record(record) for record in records]


def engine(policies: Sequence[PolicyDoc], categories: Sequence[CategoryDoc]) -> Callable[[str], Guess]:
    """The product's matcher."""
    matcher = Matcher(policies, categories)

    def guess(text: str) -> Guess:
        result = matcher.match(text)
        data = result.to_dict()
        category = data["category"]["code"] if data["category"] else None
        return Guess(data["intent"], tuple(hit["code"] for hit in data["policies"]), data["lead_unit"], category)

    return guess


def _decide(
    policy_scores: list[tuple[float, str]], category_scores: list[tuple[float, CategoryDoc]], threshold: float
) -> Guess:
    policy_scores.sort(key=lambda item: -item[0])
    category_scores.sort(key=lambda item: -item[0])
    best_policy = policy_scores[0][0] if policy_scores else 0.0
    best_category = category_scores[0][0] if category_scores else 0.0
    if max(best_policy, best_category) < threshold:
        return Guess("other", (), None, None)
    if best_category > best_policy:
        category = category_scores[0][1]
        return Guess("appeal", (), category.lead_unit, category.code)
    return Guess("policy", tuple(code for score, code in policy_scores[:5] if score > 0), None, None)


def bm25_baseline(policies: Sequence[PolicyDoc], categories: Sequence[CategoryDoc]) -> Callable[[str], Guess]:
    """bm25s over jieba tokens; scores of the two indexes are made comparable by dividing by the query's length."""
    import bm25s
    import jieba

    def tokens(text: str) -> list[str]:
        return [token for token in jieba.lcut(normalize(text)) if token.strip()]

    def corpus_of(texts: list[str]) -> Any:
        retriever = bm25s.BM25()
        retriever.index([tokens(text) for text in texts], show_progress=False)
        return retriever

    policy_texts = [
        " ".join([doc.name, *doc.keywords, *(value for _key, value in doc.tags), doc.content]) for doc in policies
    ]
    category_texts = [" ".join([category.name, *category.keywords]) for category in categories]
    policy_index, category_index = corpus_of(policy_texts), corpus_of(category_texts)

    def scores(index: Any, query: list[str]) -> list[float]:
        return [float(score) for score in index.get_scores(query)]

    def guess(text: str) -> Guess:
        query = tokens(text)
        if not query:
            return Guess("other", (), None, None)
        scale = len(query)
        policy_scores = [
            (score / scale, doc.code) for score, doc in zip(scores(policy_index, query), policies, strict=True)
        ]
        category_scores = [
            (score / scale, category) for score, category in zip(scores(category_index, query), categories, strict=True)
        ]
        return _decide(policy_scores, category_scores, threshold=0.5)

    return guess


def wratio_baseline(policies: Sequence[PolicyDoc], categories: Sequence[CategoryDoc]) -> Callable[[str], Guess]:
    """rapidfuzz WRatio of the normalised message against policy names and category names."""
    from rapidfuzz import fuzz

    names = [(normalize(doc.name), doc.code) for doc in policies]
    category_names = [(normalize(category.name), category) for category in categories]

    def guess(text: str) -> Guess:
        query = normalize(text)
        if not query:
            return Guess("other", (), None, None)
        policy_scores = [(fuzz.WRatio(query, name) / 100.0, code) for name, code in names]
        category_scores = [(fuzz.WRatio(query, name) / 100.0, category) for name, category in category_names]
        return _decide(policy_scores, category_scores, threshold=0.5)

    return guess


@dataclass
class Tally:
    """The counts of an evaluation so far: overall, by message feature, and one line per error."""

    counts: Counter[str] = field(default_factory=Counter)
    by_feature: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)

    def add(self, message: dict[str, Any], result: Guess) -> None:
        """Count one labelled message and what the system said about it."""
        intent_ok = result.intent == message["intent"]
        self.counts["messages"] += 1
        self.counts["intent"] += intent_ok
        wrong = [] if intent_ok else [f"intent {result.intent}"]
        if message["intent"] == "policy":
            wrong += self._policy(message, result, intent_ok)
        elif message["intent"] == "appeal":
            wrong += self._appeal(message, result, intent_ok)
        if wrong:
            self.errors.append(f"{message['intent']:8} {message['text']}  ->  " + "; ".join(wrong))

    def _policy(self, message: dict[str, Any], result: Guess, intent_ok: bool) -> list[str]:
        expected = set(message["policies"])
        self.counts["policy"] += 1
        self.counts["hit1"] += bool(result.policies[:1]) and result.policies[0] in expected
        hit3 = bool(expected & set(result.policies[:3]))
        self.counts["hit3"] += hit3
        self._by_feature(message, intent_ok and hit3)
        return [] if hit3 else [f"policies {list(result.policies[:3])} want {sorted(expected)}"]

    def _appeal(self, message: dict[str, Any], result: Guess, intent_ok: bool) -> list[str]:
        self.counts["appeal"] += 1
        self.counts["lead"] += result.lead_unit == message["lead_unit"]
        self.counts["category"] += result.category == message["category"]
        self._by_feature(message, intent_ok and result.lead_unit == message["lead_unit"])
        if result.category != message["category"]:
            return [f"category {result.category} want {message['category']}"]
        return []

    def _by_feature(self, message: dict[str, Any], ok: bool) -> None:
        for feature in message.get("features") or ["plain"]:
            self.by_feature[feature]["n"] += 1
            self.by_feature[feature]["ok"] += ok

    def figures(self) -> dict[str, float]:
        """Accuracy figures in percent, then the accuracy for each message feature."""

        def percent(part: str, whole: str) -> float:
            return 100.0 * self.counts[part] / self.counts[whole] if self.counts[whole] else 0.0

        figures = {
            "intent": percent("intent", "messages"),
            "hit@1": percent("hit1", "policy"),
            "hit@3": percent("hit3", "policy"),
            "lead unit": percent("lead", "appeal"),
            "category": percent("category", "appeal"),
        }
        for feature, counter in sorted(self.by_feature.items()):
            figures[f"  {feature} (n={counter['n']})"] = 100.0 * counter["ok"] / counter["n"]
        return figures


def evaluate(messages: list[dict[str, Any]], guess: Callable[[str], Guess]) -> tuple[dict[str, float], list[str]]:
    """Accuracy figures (percent) and one line per error."""
    tally = Tally()
    for message in messages:
        tally.add(message, guess(message["text"]))
    return tally.figures(), tally.errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--catalog", type=Path, default=None, help="policy list JSON (default: the demo catalog)")
    parser.add_argument("--errors", action="store_true", help="list the engine's errors")
    args = parser.parse_args(argv)
    messages = load_messages(args.data)
    policies = load_catalog(args.catalog)
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    kinds = Counter(message["intent"] for message in messages)
    print(
        f"{len(messages)} messages ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}); "
        f"{len(policies)} policies, {len(categories)} appeal categories"
    )
    systems = {"engine": engine, "bm25 (bm25s+jieba)": bm25_baseline, "wratio (names)": wratio_baseline}
    table: dict[str, dict[str, float]] = {}
    engine_errors: list[str] = []
    for name, build in systems.items():
        figures, errors = evaluate(messages, build(policies, categories))
        table[name] = figures
        if name == "engine":
            engine_errors = errors
    rows = list(table["engine"])
    header = f"{'':28}" + "".join(f"{name:>22}" for name in table)
    print(header)
    for row in rows:
        print(f"{row:28}" + "".join(f"{table[name].get(row, float('nan')):>21.1f}%" for name in table))
    print("margin over the better baseline (points):")
    for row in ("intent", "hit@1", "hit@3", "lead unit"):
        better = max(table[name][row] for name in table if name != "engine")
        print(f"  {row:12} {table['engine'][row] - better:+.1f}")
    if args.errors:
        print(f"\nengine errors ({len(engine_errors)}):")
        for line in engine_errors:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
