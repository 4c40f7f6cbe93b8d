"""Recompute the shipped vectors of the seed examples (routing/seed_examples.jsonl) after a model or text change.

    .venv/bin/python bench/seed_vectors.py

Writes routing/seed_examples.e5.npz: the cache keys (model, kind, text), float16 vectors and the model name of
the seed examples, the demo policies and the default categories, so that a fresh database starts with them
embedded instead of spending a minute on them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intents.embedding import E5Embedder, text_key  # noqa: E402
from intents.semantic import category_passage, policy_passage  # noqa: E402
from policies.catalog import doc_from_record, read_demo_catalog  # noqa: E402
from routing.examples import SEED_PATH, SEED_VECTORS_PATH  # noqa: E402
from routing.table import category_doc_from_record, read_default_table  # noqa: E402


def main() -> int:
    texts = [json.loads(line)["text"] for line in SEED_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    passages = [policy_passage(doc_from_record(record)) for record in read_demo_catalog()]
    passages += [category_passage(category_doc_from_record(record)) for record in read_default_table()["categories"]]
    embedder = E5Embedder(threads=2)
    started = time.perf_counter()
    vectors = np.vstack([embedder.queries(texts), embedder.passages(passages)])
    keys = np.array(
        [text_key(embedder.name, "query", text) for text in texts]
        + [text_key(embedder.name, "passage", text) for text in passages]
    )
    np.savez_compressed(SEED_VECTORS_PATH, keys=keys, vectors=vectors.astype(np.float16), model=np.array(embedder.name))
    print(f"{len(keys)} vectors in {time.perf_counter() - started:.1f} s -> {SEED_VECTORS_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
