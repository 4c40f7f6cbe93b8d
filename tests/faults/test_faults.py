"""Nothing lost, nothing answered twice, when PostgreSQL restarts, Redis goes away, an app instance or the worker is
killed with -9: each scenario sends signed WeChat messages with WeChat's retries to `appealbot serve` processes (and
a separate worker) on a throwaway PostgreSQL and Redis, and counts in the database and at the WeChat API stand-in.

bench/faults.py runs the same scenarios longer and prints a table.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.faults.harness import cluster, rig, run_scenario
from tests.faults.servers import Postgres

pytestmark = pytest.mark.slow

MESSAGES, RATE = 60, 30.0  # a burst of two seconds, the fault in it (once messages are in flight)


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[Postgres, str]]:
    """A throwaway PostgreSQL cluster with a migrated, seeded template database."""
    missing = [name for name in ("redis-server", "runuser") if shutil.which(name) is None]
    if missing or not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        message = f"cannot start throwaway servers here (missing: {missing or 'initdb'})"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with cluster() as found:
        yield found


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize(
    ("scenario", "instances"),
    [("postgres_restart", 1), ("redis_outage", 1), ("app_kill", 2), ("worker_kill", 1)],
)
def test_every_message_stored_once_and_answered_once(
    seeded: tuple[Postgres, str], tmp_path: Path, scenario: str, instances: int
) -> None:
    pg, template = seeded
    with rig(pg, template, tmp_path, instances=instances) as built:
        found = run_scenario(built, scenario, count=MESSAGES, rate=RATE, fault_at=0.6)
    print(
        f"{scenario}: sent {found.sent} stored {found.stored} answered {found.answered} duplicates {found.duplicates}"
        f" lost {found.lost} uncertain {found.uncertain} p50 {found.p50:.2f} s p99 {found.p99:.2f} s"
    )
    assert found.problems == []
    assert (found.stored, found.answered, found.duplicates, found.lost) == (found.sent, found.sent, 0, 0)
    # in the database: every message processed, with exactly one reply stored for it
    assert found.db_processed == found.db_replies == found.sent
