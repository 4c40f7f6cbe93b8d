"""Migration 0012: the policy question log and the indexes of the period figures, as the models declare them, and
a way back down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from bot.platform import db
from tests.enterprises.test_migration import _table_of

MINE = {"policy_questions", "policy_questions_shown", "appeal_timers", "push_deliveries"}
INDEXES = {"ix_appeal_timers_sign_due_at", "ix_appeal_timers_missed"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'm.db'}" if request.param == "sqlite" else str(request.getfixturevalue("pg_url"))
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        config = db.alembic_config(engine)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_models_and_migration_agree(engine: Engine) -> None:
    db.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, db.METADATA) if _table_of(d) in MINE]
    assert differences == []
    assert {index["name"] for index in inspect(engine).get_indexes("appeal_timers")} >= INDEXES


def test_down_to_0008_and_up_again(engine: Engine) -> None:
    db.upgrade(engine)
    migrate(engine, "0008", down=True)
    checked = inspect(engine)
    assert "policy_questions" not in checked.get_table_names()
    assert not INDEXES & {index["name"] for index in checked.get_indexes("appeal_timers")}
    migrate(engine, "head")
    assert {"policy_questions", "policy_questions_shown"} <= set(inspect(engine).get_table_names())
