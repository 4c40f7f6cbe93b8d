"""Helpers of the migration tests: move a database to a revision, and compare the models with the migrations."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from bot.platform import db


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Upgrade (or with `down`, downgrade) the database to `revision`."""
    with engine.begin() as connection:
        config = db.alembic_config(engine)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def model_differences(engine: Engine, tables: set[str]) -> list[object]:
    """What autogenerate would change in `tables` to make the migrated database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, db.METADATA) if _table_of(d) in tables]


def _table_of(difference: object) -> str:
    item = difference[0] if isinstance(difference, list) else difference
    assert isinstance(item, tuple)
    for part in item[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        name = part if isinstance(part, str) else getattr(part, "name", None)
        if isinstance(name, str):
            return name
    return ""
