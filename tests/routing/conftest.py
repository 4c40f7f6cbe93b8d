"""A migrated database with the default routing table (seeded at SEEDED_AT), copied fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.platform import db
from tests.routing.support import SEEDED_AT
from tests.support.databases import Templates


@pytest.fixture
def engine(templates: Templates, tmp_path: Path) -> Iterator[Engine]:
    engine = db.make_engine(templates.sqlite(tmp_path / "routing.db", "schema", seeded_at=SEEDED_AT))
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with db.session_factory(engine)() as session:
        yield session
