"""Throwaway servers for the fault scenarios: a PostgreSQL cluster and a Redis of their own (temp folders, free
ports, on loopback), and `appealbot serve` / `appealbot worker` processes that can be killed with -9."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis
from sqlalchemy import create_engine, text

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
RECOVER_AFTER = 5  # seconds: the processes' wechat.recover_after in these runs (longer than the budget + 0.5 s)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else name


class Postgres:
    """A PostgreSQL cluster of its own in a temp folder (initdb refuses root: it runs as the postgres user)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="appealbot-faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off -c max_connections=300"
        log = str(self.dir / "server.log")
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """Stop (every connection is cut) and start again."""
        self.stop("fast")
        self.start()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        admin.dispose()
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A redis-server of its own on a free port, without persistence; stopped and started on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class Process:
    """`appealbot serve` or `appealbot worker` as a subprocess, with its log in a file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, *, port: int | None = None) -> None:
        self.command, self.env, self.log, self.port = command, env, log, port
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", *self.command], cwd=ROOT, env=self.env, stdout=sink,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def ready(self) -> bool:
        assert self.popen is not None and self.popen.poll() is None, self.log.read_text(errors="replace")[-3000:]
        if self.port is None:
            return "worker started" in self.log.read_text(errors="replace")
        try:
            httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
        except httpx.HTTPError:
            return False
        return True

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            assert time.monotonic() < deadline, f"{self.command[0]} did not start"
            time.sleep(0.1)

    def kill9(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()


def environment(database_url: str, redis_url: str, api_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPEALBOT_")} | {
        "APPEALBOT_DATABASE_URL": database_url,
        "APPEALBOT_REDIS_URL": redis_url,
        "APPEALBOT_REDIS_PREFIX": f"faults:{secrets.token_hex(4)}:",
        "APPEALBOT_LOG_FORMAT": "json",
        "APPEALBOT_WECHAT_API_BASE": api_url,
        "APPEALBOT_WECHAT_RECOVER_AFTER": str(RECOVER_AFTER),
        "APPEALBOT_SIMULATOR_ENABLED": "false",
        "APPEALBOT_PUSH_QUIET_HOURS": "",
        "APPEALBOT_DATABASE_STARTUP_WAIT": "60",
    }
    return env | extra
