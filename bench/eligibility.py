"""Benchmark of eligibility (政策找人) on PostgreSQL: 50,000 enterprises x 2,000 policies.

1. One policy's eligible set, as the push preview, 应享未享 and a campaign compute it (one SQL query,
   enterprises.eligibility.eligible_query): the target is under 200 ms. Baseline measured in the same run:
   the same set computed in Python over all 50,000 profiles already in memory (enterprises.eligibility.evaluate).
2. A full recompute: the eligible sets of all 2,000 policies, one query each (what a dashboard of every
   policy's reach, or a sweep of 应享未享 over the whole list, costs), against the Python baseline extrapolated
   from a sample of policies.

    .venv/bin/python bench/eligibility.py [--database-url URL] [--enterprises 50000] [--policies 2000]

The database URL defaults to APPEALBOT_TEST_DATABASE_URL or the local test server; the benchmark works in a
schema of its own and drops it afterwards. Every set computed in SQL is checked against Python.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.schemas import throwaway_schema  # noqa: E402
from bot.platform import db  # noqa: E402
from enterprises.eligibility import Conditions, Profile, conditions, eligible_query, evaluate  # noqa: E402
from enterprises.models import Enterprise  # noqa: E402
from enterprises.vocabulary import ABOVE_SCALE, INDUSTRY_NAMES, Vocabulary  # noqa: E402
from policies.models import Policy  # noqa: E402

DEFAULT_URL = os.environ.get("APPEALBOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TODAY = date(2026, 11, 30)
QUALIFICATIONS = ["高新技术企业", "科技型中小企业", "专精特新", '专精特新"小巨人"', *sorted(ABOVE_SCALE), "个体工商户"]
STREETS = list(Vocabulary.default().streets)
# A district's mix: many small service and trade firms, fewer factories, few large ones.
INDUSTRY_WEIGHTS = [1, 1, 12, 1, 6, 22, 5, 9, 8, 2, 3, 10, 6, 1, 7, 2, 2, 2, 0, 0]


def populate(engine: Engine, *, enterprises: int, policies: int, rng: random.Random) -> None:
    """Enterprises with realistic fields (some unknown), and policies with random tag conditions."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        rows: list[dict[str, Any]] = []
        for number in range(enterprises):
            known = rng.random() > 0.1
            quals = rng.sample(QUALIFICATIONS, rng.choice([0, 0, 0, 1, 1, 2])) if known else None
            rows.append(
                {
                    "uscc": f"B{number:017d}", "name": f"企业{number}",
                    "industry": rng.choices(INDUSTRY_NAMES, weights=INDUSTRY_WEIGHTS)[0] if known else None,
                    "size": rng.choices("大中小微", weights=[2, 8, 40, 50])[0] if rng.random() > 0.08 else None,
                    "qualifications": quals, "street": rng.choice(STREETS) if rng.random() > 0.2 else None,
                    "founded_on": date(rng.randint(1990, 2026), rng.randint(1, 12), rng.randint(1, 28)),
                    "employees": rng.randint(1, 2000) if rng.random() > 0.15 else None,
                    "contact": "", "phone": "", "sources": {}, "created_at": now, "updated_at": now,
                }
            )  # fmt: skip
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Enterprise), rows[start : start + 5000])
        connection.execute(
            text(
                "INSERT INTO enterprise_qualifications (enterprise_id, value) "
                "SELECT DISTINCT e.id, q.value FROM enterprises e, json_array_elements_text(e.qualifications) q(value)"
            )
        )
        records = [_policy(number, rng, now) for number in range(policies)]
        connection.execute(insert(Policy), records)
        connection.execute(text("ANALYZE"))


def _policy(number: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    tags: dict[str, str] = {"类型": rng.choice(["补贴", "税收", "奖励", "金融"])}
    if rng.random() < 0.5:
        tags["行业"] = "、".join(rng.sample(INDUSTRY_NAMES[:18], rng.randint(1, 3)))
    if rng.random() < 0.6:
        tags["规模"] = rng.choice(["小微", "中小微", "中小", "大中", "规上", "中小、规上", "规下", "不限"])
    if rng.random() < 0.2:
        tags["资质"] = "、".join(rng.sample(QUALIFICATIONS, rng.randint(1, 2)))
    if rng.random() < 0.15:
        tags["街道"] = "、".join(rng.sample(STREETS, rng.randint(1, 3)))
    if rng.random() < 0.15:
        tags["成立年限"] = rng.choice(["≥2年", "≥3年", "≤5年", "1-8年"])
    if rng.random() < 0.15:
        tags["从业人数"] = rng.choice(["≤300人", "≥10人", "10-300人", "≤20人"])
    return {
        "code": f"B{number:05d}", "name": f"政策{number}", "body": "区工信交通局", "eligibility": "",
        "content": "奖励", "process": "", "materials": "", "mode": "依申请", "tags": tags, "keywords": [],
        "url": "", "status": "published", "demo": False, "version": 1, "updated_by": "bench",
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def profiles(engine: Engine) -> dict[int, Profile]:
    """Every enterprise's profile, in memory (the Python baseline's input)."""
    with db.session_factory(engine)() as session:
        return {row.id: Profile.of(row) for row in session.scalars(select(Enterprise))}


def rules_of(engine: Engine) -> list[tuple[str, Conditions]]:
    with engine.connect() as connection:
        rows = connection.execute(select(Policy.code, Policy.tags).order_by(Policy.code)).all()
    return [(code, conditions(json.loads(tags) if isinstance(tags, str) else tags)) for code, tags in rows]


def by_sql(engine: Engine, rules: Conditions) -> tuple[float, set[int]]:
    with engine.connect() as connection:
        started = time.perf_counter()
        found = set(connection.scalars(eligible_query(rules, today=TODAY)))
        return (time.perf_counter() - started) * 1000, found


def by_python(people: dict[int, Profile], rules: Conditions) -> tuple[float, set[int]]:
    started = time.perf_counter()
    found = {key for key, profile in people.items() if evaluate(rules, profile, today=TODAY).eligible}
    return (time.perf_counter() - started) * 1000, found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(engine: Engine, *, sample: int, rng: random.Random) -> bool:
    people = profiles(engine)
    every = rules_of(engine)
    picked = rng.sample(every, sample)
    sql_times, python_times, sizes = [], [], []
    for code, rules in picked:
        sql_ms, found = by_sql(engine, rules)
        python_ms, expected = by_python(people, rules)
        assert found == expected, f"SQL and Python disagree on {code}"
        sql_times.append(sql_ms)
        python_times.append(python_ms)
        sizes.append(len(found))
    one = statistics.median(sql_times)
    print(
        f"one policy's eligible set ({sample} policies, {min(sizes):,}–{max(sizes):,} enterprises each): "
        f"SQL median {one:.1f} ms, p95 {percentile(sql_times, 0.95):.1f} ms, max {max(sql_times):.1f} ms "
        f"(target < 200 ms); Python baseline median {statistics.median(python_times):.1f} ms "
        f"(SQL/Python = {one / statistics.median(python_times):.2f})"
    )
    started = time.perf_counter()
    total = 0
    for _, rules in every:
        total += len(by_sql(engine, rules)[1])
    full = time.perf_counter() - started
    estimate = statistics.mean(python_times) * len(every) / 1000
    print(
        f"full recompute: the eligible sets of all {len(every):,} policies ({total:,} pairs) in {full:.1f} s by SQL "
        f"({full / len(every) * 1000:.1f} ms a policy); Python baseline about {estimate:.0f} s "
        f"(SQL/Python = {full / estimate:.2f})"
    )
    started = time.perf_counter()
    with engine.connect() as connection:
        counted = sum(
            int(connection.scalar(select(func.count()).select_from(eligible_query(rules, today=TODAY).subquery())) or 0)
            for _, rules in every
        )
    assert counted == total
    print(
        f"full recompute of the counts only (each policy's reach): {time.perf_counter() - started:.1f} s "
        f"for {len(every):,} policies"
    )
    return one < 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--enterprises", type=int, default=50_000)
    parser.add_argument("--policies", type=int, default=2_000)
    parser.add_argument("--sample", type=int, default=60, help="policies timed one by one against Python")
    args = parser.parse_args()
    rng = random.Random(13)
    with throwaway_schema(args.database_url) as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        started = time.perf_counter()
        populate(engine, enterprises=args.enterprises, policies=args.policies, rng=rng)
        took = time.perf_counter() - started
        print(f"{args.enterprises:,} enterprises and {args.policies:,} policies loaded in {took:.1f} s")
        ok = measure(engine, sample=args.sample, rng=rng)
        engine.dispose()
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
