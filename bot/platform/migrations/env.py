"""Alembic environment: runs on the connection that bot.platform.db.migrate hands over."""

from __future__ import annotations

from alembic import context

from bot.platform.db import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `appealbot db upgrade` (bot.platform.db.upgrade), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
