"""Benchmark of the escalation sweep on PostgreSQL, in production shape.

1. With 100,000 open appeals (300,000 timers, of which the reply limits run), one sweep that finds
   1,000 due timers: how long the claiming transaction takes, as the worker runs it (asyncpg) —
   the target is under 100 ms.
2. Latency: `appealbot worker --interval S` processes run while 2,000 escalations fall due over a
   few seconds; the delay from each scheduled time to its escalation must stay under 2 x S.

    .venv/bin/python bench/appeals_sweep.py [--database-url URL] [--appeals 100000] [--due 1000] [--interval 1]

The database URL defaults to APPEALBOT_TEST_DATABASE_URL or the local test server; the benchmark works
in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.schemas import throwaway_schema  # noqa: E402
from bot.platform import db  # noqa: E402
from routing import escalation, notify, service  # noqa: E402
from routing.models import Escalation  # noqa: E402

DEFAULT_URL = os.environ.get("APPEALBOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ISO = """to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def populate(engine: Engine, *, appeals: int) -> None:
    """Open appeals with sign and contact met and the reply limit running, due in 1-7 days."""
    with engine.begin() as connection:
        connection.execute(
            text(f"""
            INSERT INTO appeals (reference, openid, enterprise, contact, phone, street, place, description,
                category_id, urgency, unit_id, co_units, state, returns, final_route, needs_call, created_at,
                dispatched_at, signed_at, contacted_at, updated_at)
            SELECT 'BENCH-' || i, 'o_' || (i % 5000), '企业' || i, '张三', '13800000000', '', '', '拖欠工程款',
                c.id, 'normal', c.lead_unit_id, '[]', 'handling', 0, false, false, now(), now(), now(), now(), now()
            FROM generate_series(1, {appeals}) AS i
            JOIN LATERAL (SELECT id, lead_unit_id FROM categories ORDER BY id OFFSET (i % 13) LIMIT 1) c ON true
        """)
        )
        connection.execute(
            text("""
            INSERT INTO appeal_timers (appeal_id, stage, seq, amount, unit, started_at, total_seconds,
                paused_seconds, due_at, fire_times, next_level, next_fire_at, provisional, stopped_at, stop_reason)
            SELECT a.id, s.stage, 1, 2, 'h', now(), 7200, 0, now(), '[]', 4, NULL, false, now(), 'met'
            FROM appeals a CROSS JOIN (VALUES ('sign'), ('contact')) AS s(stage)
        """)
        )
        fire = "now() + (interval '1 day') * (1 + (a.id % 6)) + (interval '1 hour') * {}"
        connection.execute(
            text(f"""
            INSERT INTO appeal_timers (appeal_id, stage, seq, amount, unit, started_at, total_seconds,
                paused_seconds, due_at, fire_times, next_level, next_fire_at, provisional)
            SELECT a.id, 'reply', 1, 7, 'd', now(), 180000, 0, {fire.format(1)},
                json_build_array({ISO.format(fire.format(0))}, {ISO.format(fire.format(1))},
                                 {ISO.format(fire.format(2))}),
                1, {fire.format(0)}, false
            FROM appeals a
        """)
        )
        connection.execute(text("ANALYZE"))


def make_due(engine: Engine, *, count: int, first: datetime, spread: float, gap: float = 0.0) -> None:
    """Make `count` reply timers fall due: level 1 from `first`, spread over `spread` seconds."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM notifications"))
        connection.execute(text("DELETE FROM escalations"))
        connection.execute(
            text("""
            UPDATE appeal_timers SET next_level = 1, next_fire_at = v.at,
                fire_times = json_build_array(to_char(v.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                    to_char((v.at + make_interval(secs => :gap)) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                    to_char((v.at + make_interval(secs => 2 * :gap)) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
            FROM (SELECT t.id, CAST(:first AS timestamptz)
                         + make_interval(secs => :spread * (row_number() OVER (ORDER BY t.id) - 1) / :count) AS at
                  FROM appeal_timers t WHERE t.stage = 'reply' ORDER BY t.id LIMIT :count) AS v
            WHERE appeal_timers.id = v.id
        """),
            {"first": first, "spread": spread, "count": count, "gap": gap},
        )
        connection.execute(text("ANALYZE appeal_timers"))


async def one_sweep(url: str, *, limit: int) -> tuple[float, int, float, int]:
    """One claiming transaction as the worker runs it (asyncpg, run_sync), then the staff-notice step:
    milliseconds and rows of each."""
    engine = db.make_async_engine(url)
    try:
        async with engine.connect() as connection:  # warm the pool: a worker's connection is already open
            await connection.execute(text("SELECT 1"))
        sessions = db.async_session_factory(engine)
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            fired = await session.run_sync(
                lambda sync: escalation.sweep(session=sync, now=datetime.now(UTC), worker="bench", limit=limit)
            )
        swept = time.perf_counter()
        async with sessions() as session, session.begin():
            noticed = await session.run_sync(
                lambda sync: notify.notify_escalations(session=sync, now=datetime.now(UTC), limit=limit)
            )
        return (swept - started) * 1000, len(fired), (time.perf_counter() - swept) * 1000, noticed
    finally:
        await engine.dispose()


async def explain(url: str) -> str:
    engine = db.make_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "EXPLAIN SELECT id FROM appeal_timers WHERE next_fire_at <= now() ORDER BY next_fire_at LIMIT 1000"
                )
            )
            return "\n".join(row[0] for row in rows)
    finally:
        await engine.dispose()


def latency(url: str, *, interval: float, due: int, workers: int) -> list[float]:
    """Run worker processes while escalations fall due; the delays (scheduled → fired) in seconds."""
    engine = create_engine(db.sync_url(url))
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")} | {
        "APPEALBOT_DATABASE_URL": url,
        "APPEALBOT_LOG_LEVEL": "WARNING",
        "APPEALBOT_WECHAT_API_BASE": "http://127.0.0.1:9",
    }
    processes = [
        subprocess.Popen([sys.executable, "-m", "bot.cli", "worker", "--interval", str(interval)], cwd=ROOT, env=env)
        for _ in range(workers)
    ]
    try:
        time.sleep(8)  # start-up: migrations check, match index
        spread = 10.0
        make_due(engine, count=due // 3, first=datetime.now(UTC) + timedelta(seconds=1), spread=spread, gap=0.5)
        deadline = time.monotonic() + spread + 10 * interval + 30
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.execute(select(func.count()).select_from(Escalation)).scalar_one() >= (due // 3) * 3:
                    break
            time.sleep(0.5)
        with engine.connect() as connection:
            rows = connection.execute(select(Escalation.scheduled_at, Escalation.fired_at)).all()
        return [(fired - scheduled).total_seconds() for scheduled, fired in rows]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--interval", type=float, default=1.0, help="worker sweep interval, seconds")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with throwaway_schema(args.database_url) as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        with db.transaction(db.session_factory(engine)) as session:
            service.ensure_default_table(session=session)
        started = time.perf_counter()
        populate(engine, appeals=args.appeals)
        with engine.connect() as connection:
            timers = connection.scalar(text("SELECT count(*) FROM appeal_timers"))
            running = connection.scalar(text("SELECT count(*) FROM appeal_timers WHERE next_fire_at IS NOT NULL"))
        print(
            f"{args.appeals:,} open appeals, {timers:,} timers ({running:,} running) "
            f"loaded in {time.perf_counter() - started:.1f} s"
        )
        times, notices = [], []
        for _ in range(args.rounds):
            make_due(engine, count=args.due, first=datetime.now(UTC) - timedelta(minutes=5), spread=60, gap=86400)
            elapsed, fired, noticing, noticed = asyncio.run(one_sweep(url, limit=args.due))
            assert fired == noticed == args.due, (fired, noticed)
            times.append(elapsed)
            notices.append(noticing)
        print(
            f"one sweep finding {args.due:,} due (claimed, {args.due:,} escalations written, timers advanced, "
            f"committed): median {statistics.median(times):.1f} ms, best {min(times):.1f} ms, "
            f"worst {max(times):.1f} ms over {args.rounds} rounds (target < 100 ms)"
        )
        print(
            f"then their {args.due:,} staff notices (the worker's next step): "
            f"median {statistics.median(notices):.1f} ms, worst {max(notices):.1f} ms"
        )
        print("plan of the claim:\n  " + asyncio.run(explain(url)).replace("\n", "\n  "))
        engine.dispose()
        delays = sorted(latency(url, interval=args.interval, due=args.due * 3, workers=args.workers))
        p99 = delays[int(len(delays) * 0.99) - 1]
        print(
            f"latency with {args.workers} worker processes, --interval {args.interval} s, {len(delays):,} "
            f"escalations falling due over 10 s: median {statistics.median(delays) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms "
            f"(target < {2 * args.interval * 1000:.0f} ms = 2 x interval)"
        )
        ok = statistics.median(times) < 100 and delays[-1] < 2 * args.interval
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
