"""Shared fixtures: settings on the embedded default, real PostgreSQL and Redis, live servers.

PostgreSQL and Redis default to this machine's local servers; APPEALBOT_TEST_DATABASE_URL and
APPEALBOT_TEST_REDIS_URL point elsewhere. When one is unreachable its tests are skipped on a
laptop, and fail under CI (CI=true), where they must run.

A test's database (`settings`, `backend`, `production_settings`) is a copy of a template migrated once
per session (tests/support/databases.py); it holds what the app leaves after its start (the routing table
and the demo policy list) unless the test is marked `database("schema")` or `database("empty")`.
Tests using PostgreSQL or Redis are marked `postgres` / `redis` here, for `python -m tests --fast`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot import accounts
from bot.platform import db
from bot.platform import settings as settings_module
from bot.platform.settings import Settings
from tests.support.databases import CONTENTS, Content, Templates, fill, sqlite_path

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from intents.matcher import Matcher, Semantic

PG_URL = os.environ.get("APPEALBOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("APPEALBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# What the app hashes passwords with; tests hash with a cheap one (see quick_password_hashes).
PRODUCTION_HASHER = accounts._hasher


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use the real PostgreSQL or Redis through these fixtures (for `--fast`)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"pg_url", "pg_database", "production_settings"}:
            item.add_marker(pytest.mark.postgres)
        if names & {"redis_url", "production_settings"}:
            item.add_marker(pytest.mark.redis)


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashes() -> Iterator[None]:
    """argon2 with the production parameters costs ~0.3 s a hash or check, most of an account test's setup;
    in-process, tests hash with the cheapest parameters. The production parameters are checked by
    tests/bot/web/test_accounts.py (fixture `production_hasher`), and `appealbot` subprocesses use them."""
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    accounts._hasher = PRODUCTION_HASHER


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


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """The template databases, built when first asked for and copied per test (tests/support/databases.py)."""
    made = Templates(tmp_path_factory.mktemp("templates"), PG_URL)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def database_content(request: pytest.FixtureRequest) -> Content:
    """What the test's fresh database holds: "demo" unless the test is marked database("schema" | "empty")."""
    marker = request.node.get_closest_marker("database")
    content: Content = marker.args[0] if marker is not None else "demo"
    assert content in CONTENTS, content
    return content


def fresh_settings(tmp_path: Path, templates: Templates, content: Content = "demo", **wechat: object) -> Settings:
    """base_settings with a fresh database of this content (a copy of its template) in tmp_path."""
    settings = base_settings(tmp_path, **wechat)
    templates.sqlite(sqlite_path(settings.database_url), content)
    return settings


@pytest.fixture
def settings(tmp_path: Path, templates: Templates, database_content: Content) -> Settings:
    return fresh_settings(tmp_path, templates, database_content)


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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once a new SQLite file and once a fresh PostgreSQL schema: for migration tests."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def pg_database(request: pytest.FixtureRequest, templates: Templates, database_content: Content) -> Iterator[str]:
    """A fresh database in the real PostgreSQL holding `database_content`, dropped afterwards; its URL."""
    if database_content == "empty":
        yield request.getfixturevalue("pg_url")
        return
    try:
        url = templates.postgres(database_content)
    except OperationalError as exc:  # the server is not there
        unavailable("PostgreSQL at " + PG_URL, exc)
    if url is None:  # this role may not create databases: a fresh schema, filled the slow way
        url = str(request.getfixturevalue("pg_url"))
        engine = db.make_engine(url)
        try:
            fill(engine, database_content)
        finally:
            engine.dispose()
        yield url
        return
    try:
        yield url
    finally:
        templates.drop_postgres(url)


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


@pytest.fixture(params=["embedded", pytest.param("production", marks=[pytest.mark.postgres, pytest.mark.redis])])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Each test twice: on the embedded default (SQLite, in-process cache) and on PostgreSQL + Redis."""
    if request.param == "embedded":
        yield request.getfixturevalue("settings")
    else:
        yield request.getfixturevalue("production_settings")


@pytest.fixture
def production_settings(tmp_path: Path, pg_database: str, redis_url: tuple[str, str]) -> Settings:
    """The production shape: PostgreSQL and Redis."""
    settings = base_settings(tmp_path).replace("database", url=pg_database)
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
