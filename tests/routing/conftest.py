"""A migrated database with the default routing table, copied fresh for every test (migrating is slow)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.platform import db
from routing import service
from tests.routing.support import SEEDED_AT


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("routing") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with db.transaction(db.session_factory(engine)) as session:
        service.ensure_default_table(session=session, now=SEEDED_AT)
    engine.dispose()
    return path


@pytest.fixture
def engine(migrated: Path, tmp_path: Path) -> Iterator[Engine]:
    copy = tmp_path / "routing.db"
    shutil.copy(migrated, copy)
    engine = db.make_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with db.session_factory(engine)() as session:
        yield session
