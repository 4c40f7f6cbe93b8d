"""Shared fixtures: settings on the embedded default, real PostgreSQL and Redis, live servers.

PostgreSQL and Redis default to this machine's local servers; APPEALBOT_TEST_DATABASE_URL and
APPEALBOT_TEST_REDIS_URL point elsewhere. When one is unreachable its tests are skipped on a
laptop, and fail under CI (CI=true), where they must run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from sqlalchemy import create_engine, text

from bot.platform import settings as settings_module
from bot.platform.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from intents.matcher import Matcher, Semantic

PG_URL = os.environ.get("APPEALBOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("APPEALBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error})"
    if IN_CI:
        pytest.fail(message + "; under CI this test must run", pytrace=False)
    pytest.skip(message)


# APPEALBOT_TEST_EMBEDDER=none runs the suite with the semantic layer off (lexical matching only); the tests of
# what only the semantic layer does are then skipped.
EMBEDDER = os.environ.get("APPEALBOT_TEST_EMBEDDER", "")
needs_semantic = pytest.mark.skipif(EMBEDDER == "none", reason="the semantic layer is off (APPEALBOT_TEST_EMBEDDER)")


def base_settings(tmp_path: Path, **wechat: object) -> Settings:
    """Shipped defaults (config.toml, no environment), with the database in tmp_path."""
    settings = settings_module.load(environ={})
    if EMBEDDER:
        settings = settings.replace("matching", embedder=EMBEDDER)
    settings = settings.replace("database", url=f"sqlite:///{tmp_path / 'appealbot.db'}")
    settings = settings.replace("log", format="text")
    return settings.replace("wechat", **wechat) if wechat else settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return base_settings(tmp_path)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL, dropped afterwards; the URL selects it."""
    schema = "t_" + secrets.token_hex(6)
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any connection failure
        unavailable("PostgreSQL at " + PG_URL, exc)
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[tuple[str, str]]:
    """The real Redis and a key prefix of this test's own, cleaned afterwards."""
    prefix = f"appealbot-test:{secrets.token_hex(6)}:"
    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
    except Exception as exc:
        unavailable("Redis at " + REDIS_URL, exc)
    try:
        yield REDIS_URL, prefix
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


@pytest.fixture(params=["embedded", "production"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Each test twice: on the embedded default (SQLite, in-process cache) and on PostgreSQL + Redis."""
    if request.param == "embedded":
        yield base_settings(tmp_path)
    else:
        yield request.getfixturevalue("production_settings")


@pytest.fixture
def production_settings(tmp_path: Path, pg_url: str, redis_url: tuple[str, str]) -> Settings:
    """The production shape: PostgreSQL and Redis."""
    settings = base_settings(tmp_path).replace("database", url=pg_url)
    return settings.replace("redis", url=redis_url[0], prefix=redis_url[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian Chromium through Playwright, one per test module (see tests/support/browser.py)."""
    from tests.support.browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def semantic() -> Semantic:
    """The bundled model (loaded once per test session) with the shipped vectors in its cache."""
    from bot.chat.learning import open_semantic

    if EMBEDDER == "none":
        pytest.skip("the semantic layer is off (APPEALBOT_TEST_EMBEDDER=none)")
    found, choice = open_semantic("e5")
    if found is None:
        message = f"the e5 embedder does not load here ({choice.problem})"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def hybrid_matcher(semantic: Semantic) -> Matcher:
    """The demo catalog with the semantic layer, its classifiers fitted on the seed examples (fit cache kept)."""
    from bot.chat.learning import learned_matcher
    from intents.matcher import Matcher
    from intents.records import Example
    from policies.catalog import doc_from_record, read_demo_catalog
    from routing.examples import read_seed
    from routing.table import category_doc_from_record, read_default_table

    policies = [doc_from_record(record) for record in read_demo_catalog()]
    categories = [category_doc_from_record(record) for record in read_default_table()["categories"]]
    examples = [Example(row.text, row.intent, row.category, row.unit) for row in read_seed()]
    return learned_matcher(Matcher(policies, categories, semantic=semantic), examples)
