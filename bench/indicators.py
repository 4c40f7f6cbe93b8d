"""Benchmark of the indicators on PostgreSQL: one month's figures (the district's and by unit) over 1,000,000
appeals spread across a year, with their timers and logged 回访 and 退回. The target is under 1 s.

    .venv/bin/python bench/indicators.py [--database-url URL] [--appeals 1000000] [--runs 3] [--schema NAME [--drop]]

The rows are generated in SQL (`generate_series`) in a throwaway schema of the given server (default
APPEALBOT_TEST_DATABASE_URL or the local test server), dropped afterwards; with --schema they are kept there and
reused by the next run with the same --schema (migrated first), until a run with --drop. The tables are vacuumed
and analysed before timing, as autovacuum leaves them in service. The baseline, measured in the same run
on the same data, is a plain count of the month's appeals through its index: the ratio says how many such
scans the whole set of figures costs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.platform import db  # noqa: E402
from routing import indicators, service  # noqa: E402
from routing.indicators import Dimension, Scope  # noqa: E402
from routing.models import Appeal  # noqa: E402

DEFAULT_URL = os.environ.get("APPEALBOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = "2026-01-01 00:00:00+00"


def populate(engine: Engine, *, appeals: int) -> None:
    """Appeals over 2026, one every ~31 s: signed (a tenth late), answered, four in five closed and rated,
    one in twenty returned first; three timers each, a 回访 event for the closed ones and a 退回 for the returned."""
    step = int(365 * 86400 / appeals) or 1
    with engine.begin() as connection:
        connection.execute(
            text(f"""
            INSERT INTO appeals (reference, openid, enterprise, contact, phone, street, place, description,
                category_id, urgency, unit_id, street_unit_id, co_units, state, returns, final_route, needs_call,
                outcome, rating, created_at, dispatched_at, first_signed_at, signed_at, answered_at, closed_at,
                updated_at, sign_seconds, answer_seconds, close_seconds)
            SELECT 'B-' || i, 'o_' || (i % 50000), '企业' || (i % 80000), '张三', '13800000000', '', '', '诉求',
                c.id, 'normal', c.lead_unit_id, NULL, '[]',
                CASE WHEN i % 5 = 0 THEN 'handling' ELSE 'closed' END, (i % 20 = 0)::int, false, false,
                CASE WHEN i % 5 = 0 THEN NULL ELSE 'solved' END,
                CASE WHEN i % 5 = 0 THEN NULL WHEN i % 7 = 0 THEN '不满意' ELSE '满意' END,
                t, t, t + interval '1 hour' * (1 + (i % 10 = 0)::int * 3), t + interval '1 hour',
                CASE WHEN i % 5 = 0 THEN NULL ELSE t + interval '3 days' END,
                CASE WHEN i % 5 = 0 THEN NULL ELSE t + interval '5 days' END,
                t, 3600, 86400, 144000
            FROM (SELECT i, timestamptz '{START}' + (i * {step}) * interval '1 second' AS t
                  FROM generate_series(1, {appeals}) AS i) AS g
            JOIN LATERAL (SELECT id, lead_unit_id FROM categories ORDER BY id OFFSET (i % 13) LIMIT 1) c ON true
        """)
        )
        connection.execute(
            text("""
            INSERT INTO appeal_timers (appeal_id, stage, seq, unit_id, amount, unit, started_at, total_seconds,
                paused_seconds, due_at, fire_times, next_level, next_fire_at, provisional, stopped_at, stop_reason)
            SELECT a.id, s.stage, 1, a.unit_id, 2, 'h', a.dispatched_at, 7200, 0, a.dispatched_at + s.limit_for,
                '[]', 4, NULL, false,
                CASE s.stage WHEN 'sign' THEN a.first_signed_at WHEN 'contact' THEN a.signed_at ELSE a.answered_at END,
                CASE WHEN s.stage = 'reply' AND a.answered_at IS NULL THEN NULL ELSE 'met' END
            FROM appeals a CROSS JOIN (VALUES ('sign', interval '2 hours'), ('contact', interval '1 day'),
                ('reply', interval '7 days')) AS s(stage, limit_for)
        """)
        )
        connection.execute(
            text("""
            INSERT INTO appeal_events (appeal_id, action, from_state, to_state, actor, actor_role, unit_id,
                reason_code, reason, data, at)
            SELECT id, 'visit', 'answered', 'closed', 'o', 'enterprise', NULL, NULL, '', '{}'::json, closed_at
            FROM appeals WHERE closed_at IS NOT NULL
            UNION ALL
            SELECT id, 'return', 'dispatched', 'returned', 's', 'staff', unit_id, 'R01', '', '{}'::json,
                dispatched_at + interval '10 minutes'
            FROM appeals WHERE returns > 0
        """)
        )


def timed(work: object, runs: int) -> float:
    """The median wall time of `runs` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--schema", help="keep the generated rows in this schema and reuse them on the next run")
    parser.add_argument("--drop", action="store_true", help="with --schema: drop the schema at the end")
    args = parser.parse_args()
    schema = args.schema or "bench_" + secrets.token_hex(4)
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :name"), {"name": schema}
        )
        if not exists:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.database_url else "?"
    engine = db.make_engine(f"{args.database_url}{separator}options=-csearch_path%3D{schema}")
    try:
        db.upgrade(engine)
        with db.transaction(db.session_factory(engine)) as session:
            service.ensure_default_table(session=session)
        with engine.connect() as connection:
            kept = connection.scalar(text("SELECT count(*) FROM appeals"))
        if kept:
            print(f"reusing {kept:,} appeals kept in schema {schema}")
        else:
            started = time.perf_counter()
            populate(engine, appeals=args.appeals)
            print(f"generated {args.appeals:,} appeals with timers and events in {time.perf_counter() - started:.1f} s")
        # As autovacuum leaves a table in service: statistics, and the visibility map index-only scans need.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("appeals", "appeal_timers", "appeal_events"):
                connection.execute(text(f"VACUUM ANALYZE {table}"))
        month = Scope(
            start=datetime(2026, 6, 1, tzinfo=UTC),
            end=datetime(2026, 7, 1, tzinfo=UTC),
            now=datetime(2026, 12, 31, tzinfo=UTC),
        )
        with db.session_factory(engine)() as session:
            in_month = session.scalar(
                select(func.count())
                .select_from(Appeal)
                .where(Appeal.created_at >= month.start, Appeal.created_at < month.end)
            )
            baseline = timed(
                lambda: session.scalar(
                    select(func.count())
                    .select_from(Appeal)
                    .where(Appeal.created_at >= month.start, Appeal.created_at < month.end)
                ),
                args.runs,
            )
            total = timed(lambda: indicators.total(session=session, scope=month), args.runs)
            by_unit = timed(lambda: indicators.figures(session=session, scope=month, by=Dimension.UNIT), args.runs)
            figures = indicators.total(session=session, scope=month)
        print(f"appeals in the month (June 2026): {in_month:,}; in the database: {args.appeals:,}")
        rows = [
            ("baseline: count of the month's appeals through its index", baseline),
            ("indicators of the month, the district ('all')", total),
            ("indicators of the month by unit", by_unit),
        ]
        for label, seconds in rows:
            print(f"{label:<58} {seconds * 1000:8.1f} ms  ({seconds / baseline:6.1f}x baseline)")
        print(f"load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
        print(f"target < 1000 ms: {'met' if max(total, by_unit) < 1 else 'NOT met'}")
        print(
            f"check: received {figures.received:,}, response rate {figures.response_rate:.3f}, "
            f"satisfaction {figures.satisfaction_rate:.3f}, returns {figures.returned:,}"
        )
    finally:
        engine.dispose()
        if args.schema is None or args.drop:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
