"""Fresh databases for tests, migrated and seeded once per session and copied per test.

Migrating a new database costs about 0.1 s on SQLite and 0.25 s on PostgreSQL, and loading the seed's
routing table and the demo policy list about as much again; hundreds of tests need a fresh one. So each
kind of database is built once (lazily, when a test first asks for it) and copied:

- SQLite: the template file is copied into the test's own directory (about a millisecond);
- PostgreSQL: `CREATE DATABASE … TEMPLATE …` (about 60 ms), dropped after the test. Where the role may not
  create databases, the test gets a fresh schema, filled the slow way.

What a fresh database holds (`Content`):
- "empty": nothing; the app (or the test) migrates it. For tests of migrations and of a first start.
- "schema": migrated to head with the seed's routing table: what `prepare_database(load_demo=False)` leaves.
- "demo": also the demo policy list: what the app leaves after its start (`create_app` loads the list).

An app started on a copy migrates it again on start; that is a no-op costing ~10 ms (Alembic re-reads the
migration files), and loading the defaults finds them there.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shutil
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from bot.platform import db
from bot.services import prepare_database
from policies import service as policy_service
from routing import service as routing_service

Content = Literal["empty", "schema", "demo"]
CONTENTS: tuple[Content, ...] = ("empty", "schema", "demo")


def fill(engine: Engine, content: Content, *, seeded_at: datetime | None = None) -> None:
    """Bring an empty database to `content`, as the app would (seeded at `seeded_at`, or now)."""
    if content == "empty":
        return
    if seeded_at is None:
        prepare_database(engine, load_demo=content == "demo")
        return
    db.upgrade(engine)
    with db.transaction(db.session_factory(engine)) as session:
        routing_service.ensure_default_table(session=session, now=seeded_at)
        if content == "demo":
            policy_service.load_demo(session=session)


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL."""
    database = make_url(url).database
    assert database and database != ":memory:", url
    return Path(database)


@dataclass
class Templates:
    """The session's template databases: SQLite files under `directory`, PostgreSQL databases next to `pg_url`."""

    directory: Path
    pg_url: str
    _files: dict[tuple[Content, datetime | None], Path] = field(default_factory=dict)
    _pg_templates: dict[Content, str] = field(default_factory=dict)
    _pg_copies: set[str] = field(default_factory=set)
    _pg_can_create: bool | None = None
    _pg_admin: Engine | None = None
    _drops: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _dropper: threading.Thread | None = None

    # -- SQLite --

    def sqlite(self, path: Path, content: Content = "demo", *, seeded_at: datetime | None = None) -> str:
        """A fresh database of this content at `path` (replacing any file there); its URL."""
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        if content != "empty":
            shutil.copyfile(self._template_file(content, seeded_at), path)
        return f"sqlite:///{path}"

    def _template_file(self, content: Content, seeded_at: datetime | None) -> Path:
        key = (content, seeded_at)
        if key not in self._files:
            stamp = "now" if seeded_at is None else seeded_at.strftime("%Y%m%dT%H%M%S")
            path = self.directory / f"{content}-{stamp}.db"
            engine = db.make_engine(f"sqlite:///{path}")
            try:
                fill(engine, content, seeded_at=seeded_at)
            finally:
                engine.dispose()
            # Everything into the one file (no -wal beside it), so that copying the file copies the database.
            with sqlite3.connect(path) as connection:
                connection.execute("PRAGMA journal_mode=DELETE")
            connection.close()
            self._files[key] = path
        return self._files[key]

    # -- PostgreSQL --

    def postgres(self, content: Content) -> str | None:
        """A new database of this content cloned from its template; its URL. None if the role may not
        create databases (the caller then uses a schema and `fill`)."""
        if self._pg_can_create is False:
            return None
        try:
            template = self._pg_template(content)
        except ProgrammingError:  # e.g. permission denied to create database
            self._pg_can_create = False
            return None
        self._pg_can_create = True
        name = f"{self._prefix()}_{secrets.token_hex(4)}"
        with self._admin().connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self._pg_copies.add(name)
        return self._url(name)

    def drop_postgres(self, url: str) -> None:
        """Drop a database made by `postgres` (closing any connection left to it), in the background: on
        PostgreSQL 15 DROP DATABASE waits for a checkpoint (0.1 s to a few seconds), and the next test need not."""
        name = make_url(url).database
        assert name in self._pg_copies, url
        if self._dropper is None:
            self._dropper = threading.Thread(target=self._drop_queued, name="drop-test-databases", daemon=True)
            self._dropper.start()
        self._drops.put(name)

    def _drop_queued(self) -> None:
        while (name := self._drops.get()) is not None:
            with contextlib.suppress(Exception):  # then it stays in _pg_copies: close() tries again
                self._drop(name)

    def _drop(self, name: str) -> None:
        with self._admin().connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._pg_copies.discard(name)

    def close(self) -> None:
        """Wait for the queued drops, then drop the PostgreSQL templates and any copy left behind."""
        if self._dropper is not None:
            self._drops.put(None)
            self._dropper.join()
            self._dropper = None
        for name in sorted(set(self._pg_copies) | set(self._pg_templates.values())):
            self._drop(name)
        self._pg_templates.clear()
        if self._pg_admin is not None:
            self._pg_admin.dispose()
            self._pg_admin = None

    def _prefix(self) -> str:
        # Ours alone: the configured database's name, this pytest process (and xdist worker), for parallel runs.
        base = make_url(self.pg_url).database or "appealbot"
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        return f"{base}_{worker}p{os.getpid()}"

    def _url(self, name: str) -> str:
        return make_url(self.pg_url).set(database=name).render_as_string(hide_password=False)

    def _admin(self) -> Engine:
        """An autocommit engine on the configured database, for CREATE and DROP DATABASE."""
        if self._pg_admin is None:
            self._pg_admin = create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        return self._pg_admin

    def _pg_template(self, content: Content) -> str:
        if content not in self._pg_templates:
            name = f"{self._prefix()}_tpl_{content}"
            with self._admin().connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            self._pg_copies.add(name)  # dropped at close() even if filling it fails
            engine = db.make_engine(self._url(name))
            try:
                fill(engine, content)
            finally:
                engine.dispose()  # a template must have no connection when it is copied
            self._pg_copies.discard(name)
            self._pg_templates[content] = name
        return self._pg_templates[content]
