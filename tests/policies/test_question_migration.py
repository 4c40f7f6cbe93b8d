"""Migration 0010: the policy question log and the indexes of the period figures, as the models declare them, and
a way back down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect

from bot.platform import db
from tests.support.migrations import migrate, model_differences

MINE = {"policy_questions", "policy_questions_shown", "appeal_timers", "push_deliveries"}
INDEXES = {"ix_appeal_timers_sign_due_at", "ix_appeal_timers_missed"}


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    engine = db.make_engine(empty_url)
    yield engine
    engine.dispose()


def test_models_and_migration_agree(engine: Engine) -> None:
    db.upgrade(engine)
    assert model_differences(engine, MINE) == []
    assert {index["name"] for index in inspect(engine).get_indexes("appeal_timers")} >= INDEXES


def test_down_to_0009_and_up_again(engine: Engine) -> None:
    db.upgrade(engine)
    migrate(engine, "0009", down=True)
    checked = inspect(engine)
    assert "policy_questions" not in checked.get_table_names()
    assert not INDEXES & {index["name"] for index in checked.get_indexes("appeal_timers")}
    migrate(engine, "head")
    assert {"policy_questions", "policy_questions_shown"} <= set(inspect(engine).get_table_names())
