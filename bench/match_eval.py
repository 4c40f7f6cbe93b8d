"""Accuracy of the matcher on the dev set and on the frozen holdout, side by side, in three variants.

    .venv/bin/python bench/match_eval.py [--folds 5] [--only dev|holdout] [--errors] [--json FILE]

Sets: dev (tests/data/eval/dev.jsonl against the demo catalog; the one to tune on) and the frozen holdout
(tests/data/eval/holdout/: its own messages and its own 48-policy catalog; never tuned on, run to report).
The seed examples (routing/seed_examples.jsonl: the dev set and the older labelled messages) are what the
product learns from. On dev each message is judged by a matcher that learned from the other folds (k-fold by
position), so no message is its own example; the holdout is judged by a matcher that learned from all seeds.

Variants: lexical (the engine without the semantic layer, as `embedder = "none"`), semantic (vectors alone:
policies by cosine, intent and category by the votes of the nearest examples) and hybrid (the product).

Figures: intent accuracy; over policy questions that some policy answers, hit@1, hit@3 (one wanted policy in
the top 3) and all@3 (every wanted policy in the top 3, or the top 3 all wanted); over policy questions that no
policy answers, how often the bot says so (no-fit); over appeals, lead unit and category, and the share sent to
区营商办 for triage. Then per style, confusion matrices of intent and lead unit, and the coverage-vs-accuracy
curve of the confidence thresholds (answer only above t: the share answered, and how many of those are right).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_tally import Guess, Tally, print_report  # noqa: E402
from intents.embedding import E5Embedder, VectorCache  # noqa: E402
from intents.matcher import Matcher, Semantic  # noqa: E402
from intents.records import INTENTS, CategoryDoc, Example, Intent, MatchResult, PolicyDoc  # noqa: E402
from intents.semantic import ExampleIndex, votes  # noqa: E402
from policies.catalog import doc_from_record, read_demo_catalog  # noqa: E402
from routing.examples import SEED_VECTORS_PATH, read_seed  # noqa: E402
from routing.table import category_doc_from_record, read_default_table  # noqa: E402

DEV = ROOT / "tests" / "data" / "eval" / "dev.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "eval" / "holdout"
# semantic-only: a policy question needs this cosine with its best policy, else no policy fits.
DENSE_FIT = 0.82


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


def seed_examples() -> list[Example]:
    """The product's seed examples."""
    return [Example(row.text, row.intent, row.category, row.unit) for row in read_seed()]


def from_result(result: MatchResult) -> Guess:
    """What the product's matcher says, as the tally reads it."""
    return Guess(
        intent=result.intent,
        policies=tuple(hit.code for hit in result.policies),
        lead_unit=result.lead_unit,
        category=result.category.code if result.intent == Intent.APPEAL and result.category else None,
        confidence=result.confidence,
        unit_confidence=result.unit_confidence,
        triage=result.triage,
    )


def lexical(
    policies: Sequence[PolicyDoc], categories: Sequence[CategoryDoc], _seeds: Sequence[Example]
) -> Callable[[str], Guess]:
    """The engine with `embedder = "none"`."""
    matcher = Matcher(policies, categories)
    return lambda text: from_result(matcher.match(text))


def semantic_only(
    semantic: Semantic,
) -> Callable[[Sequence[PolicyDoc], Sequence[CategoryDoc], Sequence[Example]], Callable[[str], Guess]]:
    """Vectors alone: cosine ranking of policies, nearest-example votes for intent and category."""

    def build(
        policies: Sequence[PolicyDoc], categories: Sequence[CategoryDoc], seeds: Sequence[Example]
    ) -> Callable[[str], Guess]:
        from intents.semantic import policy_passage

        vectors = semantic.passages([policy_passage(doc) for doc in policies])
        index = ExampleIndex(seeds, semantic.queries([example.text for example in seeds]))
        intents = np.array([INTENTS.index(example.intent) for example in seeds])
        codes = [category.code for category in categories]
        lead = {category.code: category.lead_unit for category in categories}
        numbers = np.array([codes.index(e.category) if e.category in codes else -1 for e in seeds])

        def guess(text: str) -> Guess:
            vector = semantic.queries([text])[0]
            similarity = index.similarity(vector[None, :])
            intent_votes = votes(similarity, intents, len(INTENTS))[0]
            intent = INTENTS[int(intent_votes.argmax())]
            cosine = vectors @ vector
            order = np.argsort(-cosine)[:5]
            policies_found = tuple(policies[i].code for i in order) if cosine.max() >= DENSE_FIT else ()
            if intent != Intent.APPEAL:
                return Guess(intent, policies_found if intent == Intent.POLICY else (), None, None)
            category_votes = votes(similarity, numbers, len(codes))[0]
            code = codes[int(category_votes.argmax())]
            return Guess(intent, (), lead[code], code, float(intent_votes.max()), float(category_votes.max()))

        return guess

    return build


def hybrid(
    semantic: Semantic,
) -> Callable[[Sequence[PolicyDoc], Sequence[CategoryDoc], Sequence[Example]], Callable[[str], Guess]]:
    """The product: lexical + meaning + classifiers learned from the examples."""

    def build(
        policies: Sequence[PolicyDoc], categories: Sequence[CategoryDoc], seeds: Sequence[Example]
    ) -> Callable[[str], Guess]:
        matcher = Matcher(policies, categories, semantic=semantic).learn(seeds)
        return lambda text: from_result(matcher.match(text))

    return build


Builder = Callable[[Sequence[PolicyDoc], Sequence[CategoryDoc], Sequence[Example]], Callable[[str], Guess]]


def run_dev(build: Builder, messages: list[dict[str, Any]], folds: int, categories: list[CategoryDoc]) -> Tally:
    """Each dev message judged by a matcher whose examples leave out its fold."""
    policies = load_catalog(None)
    seeds = seed_examples()
    tally = Tally()
    for fold in range(folds):
        chosen = [message for number, message in enumerate(messages) if number % folds == fold]
        held = {message["text"] for message in chosen}
        guess = build(policies, categories, [example for example in seeds if example.text not in held])
        for message in chosen:
            tally.add(message, guess(message["text"]))
    return tally


def run_holdout(build: Builder, messages: list[dict[str, Any]], categories: list[CategoryDoc]) -> Tally:
    """The frozen holdout against its own catalog, with every seed example."""
    guess = build(load_catalog(HOLDOUT / "catalog.json"), categories, seed_examples())
    tally = Tally()
    for message in messages:
        tally.add(message, guess(message["text"]))
    return tally


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", choices=["dev", "holdout"], default=None)
    parser.add_argument("--variants", default="lexical,semantic,hybrid")
    parser.add_argument("--errors", action="store_true", help="list the hybrid's errors on dev (never the holdout's)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    args = parser.parse_args(argv)
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    cache = VectorCache()
    embedder = E5Embedder(threads=2)
    cache.load_file(SEED_VECTORS_PATH, model=embedder.name)
    semantic = Semantic(embedder, cache)
    builders: dict[str, Builder] = {"lexical": lexical, "semantic": semantic_only(semantic), "hybrid": hybrid(semantic)}
    results: dict[str, dict[str, Tally]] = {}
    dev, holdout = load_messages(DEV), load_messages(HOLDOUT / "messages.jsonl")
    for name in args.variants.split(","):
        results[name] = {}
        if args.only != "holdout":
            results[name]["dev"] = run_dev(builders[name], dev, args.folds, categories)
        if args.only != "dev":
            results[name]["holdout"] = run_holdout(builders[name], holdout, categories)
    print(f"dev {len(dev)} messages ({args.folds}-fold), holdout {len(holdout)} messages; embedder {embedder.name}")
    figures = print_report(results)
    if args.errors and "hybrid" in results and "dev" in results["hybrid"]:
        print(f"\nhybrid errors on dev ({len(results['hybrid']['dev'].errors)}):")
        for line in results["hybrid"]["dev"].errors:
            print("  " + line)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
