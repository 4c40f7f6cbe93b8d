"""Several `appealbot worker` processes against one PostgreSQL fire every escalation exactly once, even when
one of them is killed mid-run and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.jobs.appeal_jobs import fire_escalations
from bot.platform import db
from bot.platform.settings import Settings
from routing import dispatch
from routing.models import AppealTimer, Escalation
from tests.support.databases import Templates

ROOT = Path(__file__).resolve().parents[3]
APPEALS = 200
LEVELS = 3


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")} | {
        "APPEALBOT_DATABASE_URL": settings.database_url,
        "APPEALBOT_REDIS_URL": settings.redis.url,
        "APPEALBOT_REDIS_PREFIX": settings.redis.prefix,
        "APPEALBOT_LOG_FORMAT": "json",
        "APPEALBOT_WECHAT_API_BASE": "http://127.0.0.1:9",  # nothing to send in this test
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def wait_started(log: Path, process: subprocess.Popen[bytes], *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while "worker started" not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, "worker did not start"
        time.sleep(0.1)


@pytest.mark.postgres
@pytest.mark.database("schema")  # migrated, with the default routing table
def test_two_worker_processes_fire_every_escalation_exactly_once(production_settings: Settings, tmp_path: Path) -> None:
    engine = db.make_engine(production_settings.database_url)
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        for number in range(APPEALS):
            dispatch.file_appeal(
                session=session,
                submission=dispatch.Submission(
                    openid=f"o_{number}",
                    enterprise=f"企业{number}",
                    contact="张三",
                    phone="13800000000",
                    description="政府拖欠工程款",
                    category_code="C11",
                ),
            )
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log", tmp_path / "worker-c.log"]
    workers = [start_worker(production_settings, logs[0]), start_worker(production_settings, logs[1])]
    try:
        for log, process in zip(logs, workers, strict=False):
            wait_started(log, process)
        # Every level of every limit falls due within the next four seconds, spread out, while both sweep.
        now = datetime.now(UTC)
        with db.transaction(factory) as session:
            timers = session.scalars(select(AppealTimer).order_by(AppealTimer.id)).all()
            for index, timer in enumerate(timers):
                first = now + timedelta(seconds=0.5 + 3.0 * index / len(timers))
                times = [first + timedelta(milliseconds=300 * level) for level in range(LEVELS)]
                timer.fire_times = [moment.isoformat() for moment in times]
                timer.next_level, timer.next_fire_at = 1, times[0]
        expected = len(timers) * LEVELS
        time.sleep(2.0)
        workers[0].send_signal(signal.SIGKILL)  # mid-run, perhaps mid-transaction
        workers[0].wait()
        workers.append(start_worker(production_settings, logs[2]))
        deadline = time.monotonic() + 90
        while True:
            with factory() as session:
                fired = session.scalar(select(func.count()).select_from(Escalation))
            if fired == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # a duplicate, if any, would show up now
        with factory() as session:
            count = session.scalar(select(func.count()).select_from(Escalation))
            distinct = session.scalar(
                select(func.count()).select_from(select(Escalation.timer_id, Escalation.level).distinct().subquery())
            )
            by_worker = dict(session.execute(select(Escalation.worker, func.count()).group_by(Escalation.worker)).all())
            pending = session.scalar(
                select(func.count()).select_from(AppealTimer).where(AppealTimer.next_fire_at.is_not(None))
            )
        print(f"escalations by worker process: {by_worker}")
        assert count == distinct == expected  # every one, once
        assert pending == 0
        assert len(by_worker) >= 2  # the work was shared by processes
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        engine.dispose()


async def test_the_in_process_worker_sweeps_on_sqlite(templates: Templates, tmp_path: Path) -> None:
    """The embedded default has no SKIP LOCKED: one worker inside the server, the same sweep."""
    engine = db.make_engine(templates.sqlite(tmp_path / "e.db", "schema"))  # migrated, with the routing table
    with db.transaction(db.session_factory(engine)) as session:
        dispatch.file_appeal(
            session=session,
            now=datetime.now(UTC) - timedelta(days=60),
            submission=dispatch.Submission(
                openid="o",
                enterprise="企业",
                contact="张三",
                phone="13800000000",
                description="拖欠工程款",
                category_code="C11",
            ),
        )
    engine.dispose()
    async_engine = db.make_async_engine(f"sqlite:///{tmp_path / 'e.db'}")
    try:
        sessions = db.async_session_factory(async_engine)
        first = await fire_escalations(sessions)
        again = await fire_escalations(sessions)
    finally:
        await async_engine.dispose()
    assert sorted((item.stage, item.level) for item in first) == [
        (stage, level) for stage in ("contact", "reply", "sign") for level in (1, 2, 3)
    ]
    assert again == []
