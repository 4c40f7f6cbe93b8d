"""A matcher over the shipped demo catalog and default routing table, built once (no database)."""

from __future__ import annotations

import pytest

from intents.matcher import Matcher
from policies.catalog import doc_from_record, read_demo_catalog
from routing.table import category_doc_from_record, read_default_table


@pytest.fixture(scope="session")
def demo_matcher() -> Matcher:
    policies = [doc_from_record(record) for record in read_demo_catalog()]
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    return Matcher(policies, categories)
