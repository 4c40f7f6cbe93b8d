"""Processes started together on an empty database come up cleanly: migrations and first-start seeding run
under one lock, and the later processes find the work done.

Two `serve` and two `worker` processes start at the same moment on an empty PostgreSQL schema, ten times
over; and a process started before its database exists waits for it instead of exiting.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from bot.platform import db
from bot.services import prepare_database
from policies.models import Policy
from routing.models import CalendarYear, Category, CategoryUnit, RoutingSetting, TimeLimit, Unit
from tests.conftest import PG_URL, unavailable
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[3]
ROUNDS = 10
TABLES = (Unit, Category, CategoryUnit, TimeLimit, RoutingSetting, CalendarYear, Policy)


@contextmanager
def empty_schema() -> Iterator[str]:
    """A new, empty schema in the real PostgreSQL; the URL selects it; dropped afterwards."""
    schema = "race_" + secrets.token_hex(5)
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


def counts(engine: Engine) -> dict[str, int]:
    """Rows of every table that first-start seeding fills."""
    with engine.connect() as connection:
        return {
            model.__tablename__: int(connection.scalar(select(func.count()).select_from(model)) or 0)
            for model in TABLES
        }


def start(command: list[str], database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")} | {
        "APPEALBOT_DATABASE_URL": database_url,
        "APPEALBOT_LOG_FORMAT": "json",
        "APPEALBOT_WECHAT_API_BASE": "http://127.0.0.1:9",  # nothing is sent in this test
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *command], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )


def healthy(process: subprocess.Popen[bytes], log: Path, *, port: int | None) -> bool:
    """The server answers /healthz with 200, or the worker has started its loop."""
    if port is None:
        return "worker started" in log.read_text(errors="replace")
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def expected() -> dict[str, int]:
    """What one process alone seeds into an empty schema (the demo policy list included, as `serve` does)."""
    with empty_schema() as url:
        engine = db.make_engine(url)
        try:
            prepare_database(engine, load_demo=True)
            return counts(engine)
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_two_servers_and_two_workers_started_together_come_up_cleanly(expected: dict[str, int], tmp_path: Path) -> None:
    assert all(expected[model.__tablename__] > 0 for model in (Unit, Category, TimeLimit, Policy))
    for round_ in range(ROUNDS):
        with empty_schema() as url:
            ports = [free_port(), free_port()]
            roles: list[int | None] = [*ports, None, None]
            logs = [tmp_path / f"round{round_}-{index}.log" for index in range(len(roles))]
            commands = [["serve", "--port", str(port), "--no-worker"] for port in ports] + [["worker"]] * 2
            processes = [start(command, url, log) for command, log in zip(commands, logs, strict=True)]
            try:
                deadline = time.monotonic() + 120
                waiting = set(range(len(processes)))
                while waiting:
                    for index in list(waiting):
                        exited = processes[index].poll()
                        assert exited is None, f"round {round_}: {commands[index]} exited with {exited}:\n" + logs[
                            index
                        ].read_text(errors="replace")
                        if healthy(processes[index], logs[index], port=roles[index]):
                            waiting.discard(index)
                    assert time.monotonic() < deadline, f"round {round_}: not healthy in time: {sorted(waiting)}"
                    time.sleep(0.1)
                engine = db.make_engine(url)
                try:
                    assert counts(engine) == expected, f"round {round_}"
                finally:
                    engine.dispose()
                assert [process.poll() for process in processes] == [None] * len(processes), f"round {round_}"
            finally:
                stop(processes)


@pytest.mark.postgres
def test_a_worker_waits_for_a_database_that_is_not_there_yet(tmp_path: Path) -> None:
    name = "late_" + secrets.token_hex(5)
    base = PG_URL.rsplit("/", 1)[0]
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        unavailable("PostgreSQL at " + PG_URL, exc)
    log = tmp_path / "worker.log"
    worker = start(["worker"], f"{base}/{name}", log)
    try:
        deadline = time.monotonic() + 60
        while "database not reachable yet; retrying" not in log.read_text(errors="replace"):
            assert worker.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "no retry logged"
            time.sleep(0.1)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        while "worker started" not in log.read_text(errors="replace"):
            assert worker.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline + 60, "worker did not start once the database was there"
            time.sleep(0.1)
        assert '"database reachable"' in log.read_text(errors="replace")
    finally:
        stop([worker])
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_wait_for_database_gives_up_after_its_patience_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = db.make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/absent")
    try:
        with (
            caplog.at_level(logging.WARNING, logger="bot.platform.db"),
            pytest.raises(db.DatabaseUnreachable) as raised,
        ):
            db.wait_for_database(engine, patience=1.2)
    finally:
        engine.dispose()
    assert "database not reachable after 1.2 s" in str(raised.value) and "absent" in str(raised.value)
    retries = [record for record in caplog.records if record.getMessage() == "database not reachable yet; retrying"]
    assert len(retries) >= 2


def test_the_sqlite_start_up_lock_makes_a_second_process_wait(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'locked.db'}")
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with db.startup_lock(engine):
            inside.set()
            time.sleep(0.5)
            order.append("first done")

    def second() -> None:
        inside.wait()
        with db.startup_lock(db.make_engine(f"sqlite:///{tmp_path / 'locked.db'}")):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    engine.dispose()
    assert order == ["first done", "second in"]
