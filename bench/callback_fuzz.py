"""Fuzz /wechat with validly signed requests carrying arbitrary fields and nesting (tests/support/callback_fuzz.py):
10,000 examples by default, spread over the three modes, against a real server. Prints the count of each status
per mode, the 5xx found (must be none), refused requests that stored something (must be none) and the slowest.

    .venv/bin/python bench/callback_fuzz.py [--examples 10000] [--production]

Embedded default (SQLite, in-process cache) unless --production: PostgreSQL at APPEALBOT_TEST_DATABASE_URL (a
schema of its own, dropped afterwards) and Redis at APPEALBOT_TEST_REDIS_URL (a key prefix of its own).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from hypothesis import HealthCheck, Phase, given, settings
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.chat.models import InboundMessage  # noqa: E402
from bot.platform import settings as settings_module  # noqa: E402
from bot.platform.settings import Settings  # noqa: E402
from tests.support.callback_fuzz import Spec, build, specs  # noqa: E402
from tests.support.servers import running  # noqa: E402
from tests.support.wechat import peer  # noqa: E402

DATABASE_URL = os.environ.get("APPEALBOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("APPEALBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MODES = ("plain", "compatible", "safe")


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    stored_when_refused: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    latencies: list[float] = field(default_factory=list)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(len(ordered) * 0.99)] if ordered else 0.0


@contextmanager
def backend(mode: str, *, production: bool, folder: Path) -> Iterator[Settings]:
    """Settings for one mode: a fresh SQLite file, or a fresh PostgreSQL schema and Redis prefix."""
    base = settings_module.load(environ={}).replace("wechat", mode=mode).replace("log", level="ERROR")
    if not production:
        yield base.replace("database", url=f"sqlite:///{folder / f'{mode}.db'}")
        return
    schema, prefix = "fuzz_" + secrets.token_hex(4), f"appealbot-fuzz:{secrets.token_hex(4)}:"
    admin = create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in DATABASE_URL else "?"
    try:
        yield base.replace("database", url=f"{DATABASE_URL}{separator}options=-csearch_path%3D{schema}").replace(
            "redis", url=REDIS_URL, prefix=prefix
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


def fuzz(config: Settings, examples: int) -> Tally:
    """Send `examples` drawn requests to a server on `config`; what came back."""
    tally = Tally()
    speaker = peer(config)
    engine = create_engine(config.database_url)

    def stored() -> int:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(InboundMessage)) or 0)

    with running(config) as (url, _app), httpx.Client(base_url=url, timeout=30) as client:
        up = time.perf_counter()

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],  # count every example once: no shrinking, no replay of old failures
            suppress_health_check=list(HealthCheck),
        )
        @given(spec=specs(mode=config.wechat.mode))
        def send(spec: Spec) -> None:
            query, body = build(spec, speaker)
            before = stored()
            started = time.perf_counter()
            response = client.post("/wechat", params=query, content=body, headers={"Content-Type": "text/xml"})
            took = time.perf_counter() - started
            tally.statuses[response.status_code] += 1
            tally.latencies.append(took)
            seen = f"{started - up:.0f} s after start: {response.status_code} {response.text[:60]!r} <- {spec!r}"[:400]
            if took > tally.slowest[0]:
                tally.slowest = (took, seen)
            if response.status_code >= 500:
                tally.server_errors.append(seen)
            elif response.status_code != 200 and stored() != before:
                tally.stored_when_refused.append(seen)

        send()
    engine.dispose()
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000, help="in all, split evenly over the three modes")
    parser.add_argument("--production", action="store_true", help="PostgreSQL + Redis instead of SQLite")
    args = parser.parse_args()
    results: dict[str, Tally] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        for mode in MODES:
            with backend(mode, production=args.production, folder=Path(folder)) as config:
                results[mode] = fuzz(config, args.examples // len(MODES))
    statuses = sorted({status for tally in results.values() for status in tally.statuses})
    print(f"\n{'mode':<11}" + "".join(f"{status:>7}" for status in statuses) + f"{'total':>8}{'p99':>8}{'slowest':>10}")
    for mode, tally in results.items():
        counts = "".join(f"{tally.statuses[status]:>7}" for status in statuses)
        total, p99, slowest = sum(tally.statuses.values()), tally.p99() * 1000, tally.slowest[0] * 1000
        print(f"{mode:<11}{counts}{total:>8}{p99:>6.0f}ms{slowest:>8.0f}ms")
    print(
        f"\nbackend: {'PostgreSQL + Redis' if args.production else 'SQLite + in-process cache'}; "
        f"{time.monotonic() - started:.0f} s"
    )
    failures = 0
    for mode, tally in results.items():
        print(f"{mode}: slowest {tally.slowest[0] * 1000:.0f} ms: {tally.slowest[1]}")
        for seen in tally.server_errors[:5]:
            print(f"{mode}: 5xx: {seen}")
        for seen in tally.stored_when_refused[:5]:
            print(f"{mode}: refused but stored: {seen}")
        failures += len(tally.server_errors) + len(tally.stored_when_refused)
    print(f"\n5xx or refused-but-stored: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
