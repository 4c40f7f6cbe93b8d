"""Load benchmark of /wechat on loopback, next to a bare FastAPI endpoint measured in the same run.

Production shape: PostgreSQL (a fresh schema) and Redis (a fresh key prefix), plain mode, one app
process without the worker; the baseline is one uvicorn process answering a constant XML reply.
wrk (Debian package `wrk`) drives both with the same number of connections and duration.

    .venv/bin/python bench/wechat_load.py --duration 30 --connections 200
    .venv/bin/python bench/wechat_load.py --open-loop-only --rate 50 --open-loop-seconds 60

The open-loop round sends at a fixed arrival rate whatever the answers (no coordinated omission: each
latency counts from the moment its message was due), to as many app processes as cores with the semantic
layer on (`embedder = "e5"`), round robin, on PostgreSQL + Redis. Every message text is new (a dev message
with a serial number), so every message is embedded. It reports p50/p99/max and the answers later than the
reply budget (the passive reply is then "success" and the answer goes out as a customer-service message).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TypedDict

import httpx
import redis
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.chat.models import InboundMessage  # noqa: E402
from bot.wechat.protocol import signature  # noqa: E402

PG = os.environ.get("APPEALBOT_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("APPEALBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TOKEN = "benchtoken"


class Run(TypedDict):
    """What one wrk run measured: requests a second, latency percentiles in ms, counts, socket errors as wrk says."""

    rps: float
    p50: float
    p99: float
    requests: float
    errors: float
    socket_errors: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def signed_queries(path: Path, *, count: int, openid: str) -> None:
    """`count` signed queries, one a line, each with a nonce of its own (a reused nonce with another body is 403)."""
    timestamp = str(int(time.time()))
    with path.open("w", encoding="ascii") as handle:
        for number in range(count):
            nonce = f"{number:x}"
            handle.write(f"/wechat?signature={signature(TOKEN, timestamp, nonce)}&timestamp={timestamp}")
            handle.write(f"&nonce={nonce}&openid={openid}\n")


def wrk(url: str, *, duration: int, connections: int, threads: int, run_id: int, think_ms: int = 0) -> Run:
    queries = Path(os.environ.get("TMPDIR", "/tmp")) / f"appealbot-wrk-{os.getpid()}-{run_id}.txt"
    signed_queries(queries, count=min(duration * 20_000, 1_000_000), openid="o_bench")
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / "wechat.lua"),
            url + "/wechat",
            "--",
            str(run_id),
            str(think_ms),
            str(queries),
            str(threads),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    queries.unlink(missing_ok=True)
    report = out.stdout

    def latency(label: str) -> float:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", report, re.M)
        if not found:
            raise RuntimeError(report)
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    def number(pattern: str) -> float:
        found = re.search(pattern, report, re.M)
        if not found:
            raise RuntimeError(report)
        return float(found.group(1))

    requests = number(r"^\s*(\d+) requests in")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    socket_errors = re.search(r"Socket errors: (.*)$", report, re.M)
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": requests,
        "errors": float(errors.group(1)) if errors else 0.0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


DEV = ROOT / "tests" / "data" / "eval" / "dev.jsonl"


async def _open_loop(urls: list[str], *, rate: float, seconds: float, budget: float) -> dict[str, float]:
    """Send `rate` messages a second for `seconds` to the urls in turn; latencies from each message's due time."""
    import asyncio
    import json

    texts = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    latencies: list[float] = []
    late = failed = passive_success = 0
    run = secrets.randbelow(10**6)

    async def send(client: httpx.AsyncClient, number: int, due: float) -> None:
        nonlocal late, failed, passive_success
        user = f"o_open_{number % 500}"
        content = f"{texts[number % len(texts)]}（{number}）"
        body = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{run * 10**7 + number}</MsgId></xml>"
        )
        try:
            timestamp, nonce = str(int(time.time())), f"{run}-{number}"  # a nonce of its own for each message
            query = f"?signature={signature(TOKEN, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}&openid={user}"
            response = await client.post(urls[number % len(urls)] + "/wechat" + query, content=body.encode())
        except httpx.HTTPError:
            failed += 1
            return
        took = time.perf_counter() - due
        latencies.append(took * 1000)
        failed += response.status_code != 200
        passive_success += response.text == "success"
        late += took > budget

    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started = time.perf_counter()
        tasks = []
        for number in range(int(rate * seconds)):
            due = started + number / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(send(client, number, due)))
        await asyncio.gather(*tasks)
    ordered = sorted(latencies)

    def pick(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")

    return {
        "sent": len(tasks),
        "answered": len(latencies),
        "p50": pick(0.5),
        "p99": pick(0.99),
        "max": ordered[-1] if ordered else float("nan"),
        "late": late,
        "success": passive_success,
        "failed": failed,
    }


def open_loop_round(args: argparse.Namespace) -> int:
    """The open-loop round: N app processes with the semantic layer, a fixed arrival rate."""
    import asyncio

    apps = args.apps or os.cpu_count() or 1
    schema = "bench_" + secrets.token_hex(4)
    prefix = f"appealbot-bench:{schema}:"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database_url = f"{PG}?options=-csearch_path%3D{schema}"
    env = dict(
        os.environ,
        APPEALBOT_DATABASE_URL=database_url,
        APPEALBOT_REDIS_URL=REDIS,
        APPEALBOT_REDIS_PREFIX=prefix,
        APPEALBOT_WECHAT_MODE="plain",
        APPEALBOT_WECHAT_TOKEN=TOKEN,
        APPEALBOT_WECHAT_RATE_LIMIT="0",  # 200 simulated users send far more than a person would
        APPEALBOT_SIMULATOR_ENABLED="false",
        APPEALBOT_LOG_LEVEL="WARNING",
        APPEALBOT_WECHAT_API_BASE="http://127.0.0.1:9",
        APPEALBOT_MATCHING_EMBEDDER=args.embedder,
    )
    ports = [free_port() for _ in range(apps)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--no-worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in urls:
            wait_ready(url + "/healthz", timeout=300)
        modes = [httpx.get(url + "/healthz").json()["matching"]["mode"] for url in urls]
        asyncio.run(_open_loop(urls, rate=args.rate, seconds=3, budget=args.budget))  # warm-up
        found = asyncio.run(_open_loop(urls, rate=args.rate, seconds=args.open_loop_seconds, budget=args.budget))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
    print(
        f"\nopen loop: {args.rate:g} messages/s for {args.open_loop_seconds:g} s to {apps} app processes "
        f"(matching: {', '.join(modes)}), PostgreSQL + Redis, {os.cpu_count()} cores"
    )
    print(
        f"  sent {found['sent']:.0f}, answered {found['answered']:.0f}, failed {found['failed']:.0f}; "
        f"p50 {found['p50']:.0f} ms, p99 {found['p99']:.0f} ms, max {found['max']:.0f} ms (aim p99 <= 300 ms)"
    )
    print(
        f"  answers later than the reply budget ({args.budget:g} s): {found['late']:.0f}; "
        f"passive 'success' (reply pushed later): {found['success']:.0f}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--think",
        type=int,
        default=2000,
        help="mean ms a simulated user waits between messages in the second round (default 2000)",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="open loop: messages a second (default 50)")
    parser.add_argument("--open-loop-seconds", type=float, default=60.0)
    parser.add_argument("--apps", type=int, default=0, help="open loop: app processes (default: as many as cores)")
    parser.add_argument("--budget", type=float, default=4.0, help="the reply budget in seconds (wechat.reply_budget)")
    parser.add_argument("--open-loop-only", action="store_true", help="skip the wrk rounds")
    parser.add_argument("--embedder", default="e5", help="open loop: e5 (default) or none, the lexical baseline")
    args = parser.parse_args()
    if args.open_loop_only:
        return open_loop_round(args)
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    schema = "bench_" + secrets.token_hex(4)
    prefix = f"appealbot-bench:{schema}:"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database_url = f"{PG}?options=-csearch_path%3D{schema}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        bare_port, app_port = free_port(), free_port()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.bare_app:app",
                    "--port",
                    str(bare_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                cwd=ROOT,
            )
        )
        env = dict(
            os.environ,
            APPEALBOT_DATABASE_URL=database_url,
            APPEALBOT_REDIS_URL=REDIS,
            APPEALBOT_REDIS_PREFIX=prefix,
            APPEALBOT_WECHAT_MODE="plain",
            APPEALBOT_WECHAT_TOKEN=TOKEN,
            APPEALBOT_WECHAT_RATE_LIMIT="0",
            APPEALBOT_SIMULATOR_ENABLED="false",
            APPEALBOT_LOG_LEVEL="WARNING",
            APPEALBOT_WECHAT_API_BASE="http://127.0.0.1:9",
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--port", str(app_port), "--no-worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        bare_url, app_url = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{app_port}"
        wait_ready(bare_url + "/docs")
        wait_ready(app_url + "/healthz")
        run_id = int(time.time()) % 1000
        # warm both up, then measure each in turn with identical settings
        wrk(bare_url, duration=3, connections=args.connections, threads=args.threads, run_id=run_id)
        wrk(app_url, duration=3, connections=args.connections, threads=args.threads, run_id=run_id + 1)
        rounds: dict[str, list[Run]] = {}
        for label, think in (("saturation", 0), ("users", args.think)):
            rounds[label] = [
                wrk(
                    url,
                    duration=args.duration,
                    connections=args.connections,
                    threads=args.threads,
                    run_id=run_id + offset,
                    think_ms=think,
                )
                for offset, url in ((2 + 2 * len(rounds), bare_url), (3 + 2 * len(rounds), app_url))
            ]
        engine = create_engine(database_url)
        with engine.connect() as connection:
            stored = connection.scalar(select(func.count()).select_from(InboundMessage))
        engine.dispose()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)

    print(f"\n/wechat on loopback, {args.connections} simulated users, {args.duration} s a run, {os.cpu_count()} cores")
    titles = {
        "saturation": "saturation: each user sends again as soon as answered (closed loop)",
        "users": f"users: each user waits {args.think} ms on average between messages",
    }
    for label, (bare, ours) in rounds.items():
        print(f"\n{titles[label]}")
        print(f"  {'endpoint':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
        for name, row in (("bare FastAPI, constant XML", bare), ("appealbot /wechat (PG + Redis)", ours)):
            print(f"  {name:<34}{row['rps']:>10.0f}{row['p50']:>10.1f}{row['p99']:>10.1f}{row['errors']:>10.0f}")
        print(
            f"  throughput ratio appealbot / bare: {ours['rps'] / bare['rps']:.2f} (aim >= 0.50); "
            f"appealbot p99 {ours['p99']:.1f} ms (aim < 100 ms); socket errors: {ours['socket_errors']}"
        )
    print(f"\nmessages stored in PostgreSQL: {stored} (warm-up included)")
    return open_loop_round(args)


if __name__ == "__main__":
    sys.exit(main())
