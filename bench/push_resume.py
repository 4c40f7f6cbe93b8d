"""Benchmark of a push campaign of 10,000 messages on PostgreSQL + Redis to a local stand-in of the WeChat API.

Two `appealbot worker` processes send it; both are killed with -9 half-way; a new worker resumes. Every one
of the 10,000 enterprises must get exactly one message: sends under way at the kill are settled by WeChat's
delivery reports (TEMPLATESENDJOBFINISH, posted by the stand-in to the app's /wechat as WeChat does) or sent
again once no report came within push.confirm_wait. Baseline measured in the same run: the same number of
template sends posted straight to the stand-in by one client with the same concurrency (no database, no rules).

    .venv/bin/python bench/push_resume.py [--database-url URL] [--redis-url URL] [--messages 10000] [--rate 500]

The database URL defaults to APPEALBOT_TEST_DATABASE_URL (a schema of its own, dropped afterwards), Redis to
APPEALBOT_TEST_REDIS_URL (keys under a prefix of its own, deleted afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import Engine, create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.platform import db  # noqa: E402
from bot.platform import settings as settings_module  # noqa: E402
from bot.platform.settings import Settings  # noqa: E402
from policies import campaigns  # noqa: E402
from policies import service as policy_service  # noqa: E402
from policies.models import Campaign, CampaignState, Delivery, DeliveryState, PolicyStatus  # noqa: E402
from tests.support.servers import free_port, reporter, standin  # noqa: E402

DEFAULT_URL = os.environ.get("APPEALBOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("APPEALBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEMPLATE = "TPL_BENCH_PUSH"
WORKERS, CONCURRENCY = 2, 4


def populate(engine: Engine, *, count: int) -> None:
    """Small manufacturers, each with one bound WeChat user."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO enterprises (uscc, name, industry, size, qualifications, contact, phone, sources,"
                " created_at, updated_at) SELECT 'P' || lpad(i::text, 17, '0'), '企业' || i, '制造业', '小', '[]',"
                " '', '', '{}', :now, :now FROM generate_series(1, :count) AS i"
            ),
            {"now": now, "count": count},
        )
        connection.execute(
            text(
                "INSERT INTO enterprise_bindings (openid, enterprise_id, source, bound_at)"
                " SELECT 'o_bench_' || id, id, 'register', :now FROM enterprises"
            ),
            {"now": now},
        )
    with db.transaction(db.session_factory(engine)) as session:
        raw = {"code": "BENCH", "name": "小微制造企业技改补贴", "body": "区工信交通局", "content": "奖励10万元",
               "tags": "行业:制造业;规模:小微"}  # fmt: skip
        policy = policy_service.create(session=session, raw=raw, author="bench", status=PolicyStatus.PUBLISHED)
        campaigns.create(session=session, policy=policy, author="bench", today=now.date(), now=now)


@contextmanager
def serving_apps(settings: Settings, count: int) -> Iterator[list[str]]:
    """`appealbot serve --no-worker` processes (they receive WeChat's delivery reports): their URLs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")} | {
        "APPEALBOT_DATABASE_URL": settings.database_url, "APPEALBOT_REDIS_URL": settings.redis.url,
        "APPEALBOT_REDIS_PREFIX": settings.redis.prefix, "APPEALBOT_LOG_LEVEL": "WARNING",
    }  # fmt: skip
    ports = [free_port() for _ in range(count)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:
            wait_for(partial(_healthy, url), timeout=120, what="the app")
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def baseline(api_url: str, *, count: int) -> float:
    """Template sends straight to the stand-in, with the workers' total concurrency: messages a second."""

    async def run() -> float:
        async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
            token = (await client.get("/cgi-bin/token", params={"grant_type": "client_credential", "appid": "a",
                                                                 "secret": "b"})).json()["access_token"]  # fmt: skip
            gate = asyncio.Semaphore(WORKERS * CONCURRENCY)

            async def one(number: int) -> None:
                async with gate:
                    body = {
                        "touser": f"baseline_{number}",
                        "template_id": "BASELINE",
                        "data": {"first": {"value": "x"}},
                    }
                    await client.post("/cgi-bin/message/template/send", params={"access_token": token}, json=body)

            started = time.perf_counter()
            await asyncio.gather(*(one(number) for number in range(count)))
            return count / (time.perf_counter() - started)

    return asyncio.run(run())


def start_worker(
    settings: Settings, api_url: str, log: Path, rate: float, confirm_wait: int
) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")} | {
        "APPEALBOT_DATABASE_URL": settings.database_url, "APPEALBOT_REDIS_URL": settings.redis.url,
        "APPEALBOT_REDIS_PREFIX": settings.redis.prefix, "APPEALBOT_LOG_LEVEL": "WARNING",
        "APPEALBOT_WECHAT_API_BASE": api_url, "APPEALBOT_SIMULATOR_ENABLED": "false",
        "APPEALBOT_PUSH_TEMPLATE_ID": TEMPLATE, "APPEALBOT_PUSH_RATE": str(rate), "APPEALBOT_PUSH_QUIET_HOURS": "",
        "APPEALBOT_PUSH_CONCURRENCY": str(CONCURRENCY), "APPEALBOT_PUSH_STALE_AFTER": "3",
        "APPEALBOT_PUSH_CONFIRM_WAIT": str(confirm_wait), "APPEALBOT_PUSH_DAILY_LIMIT": "1000000",
    }  # fmt: skip
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker", "--interval", "0.5"], cwd=ROOT, env=env, stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_for(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def states(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
        return {str(state): int(number) for state, number in rows}


def campaign(
    settings: Settings, api_url: str, api: Any, engine: Engine, *, count: int, rate: float, confirm_wait: int
) -> dict[str, Any]:
    """Run the campaign with two workers, kill -9 both half-way, resume with a new one; what happened."""
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"push-bench-{secrets.token_hex(3)}"
    logs.mkdir()

    def got() -> int:
        snapshot = list(api.received.values())  # the stand-in's thread adds to it
        return sum(1 for items in snapshot for item in list(items) if item.get("template_id") == TEMPLATE)

    workers = [start_worker(settings, api_url, logs / f"w{n}.log", rate, confirm_wait) for n in range(WORKERS)]
    try:
        wait_for(lambda: got() > 0, timeout=120, what="the first message")
        print(f"  {time.strftime('%H:%M:%S')} workers sending", flush=True)
        started, first = time.perf_counter(), got()
        wait_for(lambda: got() >= count // 2, timeout=600, what="half of the campaign")
        before = (got() - first) / (time.perf_counter() - started)
        for process in workers:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        with engine.connect() as connection:
            claimed = connection.execute(
                select(Delivery.id, Delivery.called_at).where(Delivery.state == DeliveryState.SENDING)
            ).all()
        in_flight = [row[0] for row in claimed if row[1] is not None]  # called: in doubt
        not_called = len(claimed) - len(in_flight)
        at_kill = got()
        killed = time.perf_counter()
        print(f"  {time.strftime('%H:%M:%S')} both workers killed at {at_kill:,} received", flush=True)
        workers = [start_worker(settings, api_url, logs / "resume.log", rate, confirm_wait)]

        def done() -> bool:
            with engine.connect() as connection:
                return connection.scalar(select(Campaign.state)) == CampaignState.DONE

        rest = count - len(in_flight)  # all but the calls in doubt
        wait_for(lambda: got() >= rest, timeout=900, what="the rest of the campaign")
        resumed = (got() - at_kill) / (time.perf_counter() - killed)
        wait_for(done, timeout=900 + confirm_wait, what="the end of the campaign")
        finished = time.perf_counter() - killed
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Delivery.state, Delivery.attempts).where(Delivery.id.in_(in_flight))
        ).all() if in_flight else []  # fmt: skip
    requeued = sum(1 for _, attempts in rows if attempts > 1)
    return {"before": before, "resumed": resumed, "at_kill": at_kill, "in_flight": len(in_flight),
            "not_called": not_called, "finished": finished, "requeued": requeued}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500.0, help="push.rate: messages a second, all workers")
    parser.add_argument("--apps", type=int, default=2, help="app processes that receive WeChat's delivery reports")
    parser.add_argument("--confirm-wait", type=int, default=120, help="push.confirm_wait, seconds (config: 600)")
    args = parser.parse_args()
    schema, prefix = "bench_" + secrets.token_hex(4), f"appealbot-bench:{secrets.token_hex(4)}:"
    admin = create_engine(db.sync_url(args.database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{separator}options=-csearch_path%3D{schema}"
    settings = settings_module.load(environ={}).replace("database", url=url).replace("log", level="WARNING")
    settings = settings.replace("redis", url=args.redis_url, prefix=prefix).replace("push", template_id=TEMPLATE)
    try:
        engine = db.make_engine(url)
        db.upgrade(engine)
        started = time.perf_counter()
        populate(engine, count=args.messages)
        print(f"{args.messages:,} enterprises bound, campaign of {args.messages:,} messages created "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        with serving_apps(settings, args.apps) as app_urls, standin() as (api_url, api):
            api.report = reporter(app_urls, settings)
            direct = baseline(api_url, count=args.messages)
            print(f"baseline: {direct:,.0f} template sends a second straight to the stand-in")
            found = campaign(
                settings, api_url, api, engine, count=args.messages, rate=args.rate, confirm_wait=args.confirm_wait
            )
            sent = {openid: items for openid, items in list(api.received.items()) if openid.startswith("o_bench_")}
        twice = sum(1 for items in sent.values() if len(items) > 1)
        missing = args.messages - len(sent)
        print(
            f"two workers: {found['before']:,.0f} messages a second (push.rate {args.rate:,.0f}; "
            f"{found['before'] / direct:.2f} of the baseline); killed with -9 at {found['at_kill']:,} received, "
            f"{found['not_called']} claimed but not yet called (queued again at once), {found['in_flight']} calls "
            f"under way; a new worker resumed at {found['resumed']:,.0f} a second, the campaign done "
            f"{found['finished']:.0f} s after the kill"
        )
        print(
            f"of the {found['in_flight']} calls under way: {found['in_flight'] - found['requeued']} settled by "
            f"WeChat's reports, {found['requeued']} sent again after push.confirm_wait ({args.confirm_wait} s)"
        )
        print(f"result: {len(sent):,} enterprises received, {twice} twice, {missing} missing; states {states(engine)}")
        engine.dispose()
        ok = twice == 0 and missing == 0
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


if __name__ == "__main__":
    sys.exit(main())
