"""Load benchmark of /wechat on loopback, next to a bare FastAPI endpoint measured in the same run.

Production shape: PostgreSQL (a fresh schema) and Redis (a fresh key prefix), plain mode, one app
process without the worker; the baseline is one uvicorn process answering a constant XML reply.
wrk (Debian package `wrk`) drives both with the same number of connections and duration.

    .venv/bin/python bench/wechat_load.py --duration 30 --connections 200
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


def wrk(url: str, *, duration: int, connections: int, threads: int, run_id: int, think_ms: int = 0) -> Run:
    timestamp, nonce = str(int(time.time())), "424242"
    query = f"?signature={signature(TOKEN, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}&openid=o_bench"
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
            url + "/wechat" + query,
            "--",
            str(run_id),
            str(think_ms),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
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
    args = parser.parse_args()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
