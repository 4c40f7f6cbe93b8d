"""A throwaway PostgreSQL schema for one benchmark run: created, selected by the URL, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from bot.platform import db


@contextmanager
def throwaway_schema(database_url: str) -> Iterator[str]:
    """The URL of a new, empty schema in `database_url`'s database; the schema is dropped on the way out."""
    schema = "bench_" + secrets.token_hex(4)
    admin = create_engine(db.sync_url(database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
