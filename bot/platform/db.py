"""Database engines, sessions and migrations. The only module that creates engines."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from filelock import FileLock, Timeout
from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

# Every module that declares tables, so that the one metadata knows the whole schema.
from bot import accounts as _accounts  # noqa: F401
from bot.chat import models as _chat_models  # noqa: F401
from enterprises import models as _enterprise_models  # noqa: F401
from policies import models as _policy_models  # noqa: F401
from policies import questions as _questions  # noqa: F401
from policies import unanswered as _unanswered  # noqa: F401
from routing import examples as _examples  # noqa: F401
from routing import models as _routing_models  # noqa: F401
from routing import report_models as _report_models  # noqa: F401
from storage import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
METADATA: MetaData = Base.metadata
STARTUP_LOCK = 727274  # PostgreSQL advisory lock key of migrations and first-start seeding (arbitrary, ours)

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web app read while the worker writes; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def sync_url(url: str) -> str:
    """The URL for a synchronous driver (CLI, migrations, worker set-up)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def async_url(url: str) -> str:
    """The URL for an asyncio driver (the web app and the worker loop): aiosqlite, or asyncpg."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        # asyncpg takes server settings as a connect argument, not libpq's "options" (see make_async_engine)
        query = {key: value for key, value in parsed.query.items() if key != "options"}
        return parsed.set(drivername="postgresql+asyncpg", query=query).render_as_string(hide_password=False)
    return url


def _server_settings(url: str) -> dict[str, str]:
    """libpq's options=-cname=value (e.g. a search_path) as asyncpg server settings."""
    options = make_url(url).query.get("options", "")
    options = options if isinstance(options, str) else " ".join(options)
    settings = {}
    for part in options.replace("-c ", "-c").split():
        if part.startswith("-c") and "=" in part:
            name, value = part[2:].split("=", 1)
            settings[name] = value
    return settings


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A synchronous engine for the given URL."""
    url = sync_url(url)
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An asyncio engine for the given URL."""
    if is_sqlite(url):
        url = async_url(url)
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    server_settings = _server_settings(url)
    if server_settings:
        kwargs.setdefault("connect_args", {})["server_settings"] = server_settings
    return create_async_engine(async_url(url), pool_pre_ping=True, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends cleanly and rolls back otherwise."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection_engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Run the Alembic migrations to head; the caller holds `startup_lock`."""
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations to head, one process at a time."""
    with startup_lock(engine):
        migrate(engine)


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Hold the start-up lock: migrations and first-start seeding run in one process at a time.

    PostgreSQL: a session advisory lock, released with its connection even if the process dies. SQLite: a
    file lock beside the database file. A process that finds the lock taken waits, then finds the work done.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": STARTUP_LOCK}):
                log.info("another process is preparing the database; waiting for it")
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK})
            connection.commit()  # the lock is the session's; no transaction stays open while we work
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK})
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock = FileLock(f"{database}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("another process is preparing the database; waiting for it", extra={"lock": lock.lock_file})
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def wait_for_database(engine: Engine, *, patience: float, clock: Callable[[], float] = time.monotonic) -> None:
    """Return once the database answers; retry with a log line until `patience` seconds have passed.

    Containers start together: the database may still be starting when the app or the worker does.
    """
    deadline = clock() + patience
    delay = 0.5
    attempt = 1
    while True:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            if attempt > 1:
                log.info("database reachable", extra={"attempts": attempt})
            return
        except OperationalError as exc:
            left = deadline - clock()
            if left <= 0:
                raise DatabaseUnreachable(
                    f"database not reachable after {patience:g} s: "
                    f"{engine.url.render_as_string(hide_password=True)}: {_first_line(exc)}"
                ) from exc
            log.warning(
                "database not reachable yet; retrying",
                extra={
                    "database": engine.url.render_as_string(hide_password=True),
                    "attempt": attempt,
                    "retry_in_s": round(min(delay, left), 1),
                    "error": _first_line(exc),
                },
            )
            time.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)
            attempt += 1


class DatabaseUnreachable(Exception):
    """The database did not answer within the configured patience (database.startup_wait)."""


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__
