"""A matcher over the shipped demo catalog and default routing table, built once (no database)."""

from __future__ import annotations

import pytest

from intents.matcher import Matcher, Semantic
from intents.records import Example
from policies.catalog import doc_from_record, read_demo_catalog
from routing.table import category_doc_from_record, read_default_table


@pytest.fixture(scope="session")
def demo_matcher() -> Matcher:
    policies = [doc_from_record(record) for record in read_demo_catalog()]
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    return Matcher(policies, categories)


@pytest.fixture(scope="session")
def hybrid_matcher(semantic: Semantic) -> Matcher:
    """The demo catalog with the semantic layer, its classifiers fitted on the seed examples (fit cache kept)."""
    from bot.chat.match_index import learned_matcher
    from routing.examples import read_seed

    policies = [doc_from_record(record) for record in read_demo_catalog()]
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    examples = [Example(row.text, row.intent, row.category, row.unit) for row in read_seed()]
    return learned_matcher(Matcher(policies, categories, semantic=semantic), examples)
