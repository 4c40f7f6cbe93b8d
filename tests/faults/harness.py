"""The fault scenarios' parts: throwaway PostgreSQL and Redis servers, appealbot processes, the WeChat API stand-in,
and a WeChat that sends signed messages and retries as WeChat does; the tally of what was sent, stored and answered.

Used by tests/faults (short runs) and bench/faults.py (the soak). Everything runs on loopback; the servers live in
temp folders and on free ports, never the shared ones.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, insert, select

from bot.chat.models import InboundMessage, OutboundMessage
from bot.platform import settings as settings_module
from bot.services import prepare_database
from bot.wechat.peer import Peer
from bot.wechat.standin import StandIn
from tests.faults.servers import RECOVER_AFTER, Postgres, Process, RedisServer, environment
from tests.support.servers import free_port, standin

DELIVERIES = 3  # WeChat delivers a message at most three times,
TIMEOUT = 5.0  # waiting 5 s for each answer
QUESTIONS = ("小微企业有什么税收优惠", "稳岗返还怎么申请", "高新技术企业认定有什么补贴", "帮助", "研发费用加计扣除")
BUSY, PATIENCE = 2, 1.2  # a fault waits (up to PATIENCE s) for BUSY messages in flight


@dataclass
class Rig:
    """One scenario's servers: PostgreSQL (a database of its own), Redis, the stand-in, app instances, a worker;
    or, embedded, one app on SQLite with its in-process cache and timer worker."""

    pg: Postgres | None
    redis: RedisServer | None
    database_url: str
    api_url: str
    api: StandIn
    folder: Path
    apps: list[Process] = field(default_factory=list)
    worker: Process | None = None
    # First deliveries spread over the instances; False: all to the first (the one a fault kills), retries on.
    spread: bool = True
    peer: Peer = field(init=False)

    def __post_init__(self) -> None:
        wechat = settings_module.load(environ={}).wechat  # the shipped demo account
        self.peer = Peer(
            token=wechat.token, app_id=wechat.app_id, encoding_aes_key=wechat.encoding_aes_key, mode=wechat.mode
        )

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{app.port}" for app in self.apps]

    def start(self, *, instances: int, embedder: str) -> None:
        redis_url = self.redis.url if self.redis is not None else ""
        env = environment(self.database_url, redis_url, self.api_url, APPEALBOT_MATCHING_EMBEDDER=embedder)
        for number in range(instances):
            port = free_port()
            # Embedded: the timer worker runs inside the server; in production it is a process of its own.
            command = ["serve", "--port", str(port)] + (["--no-worker"] if self.redis is not None else [])
            self.apps.append(Process(command, env, self.folder / f"app-{number}.log", port=port))
        if self.redis is not None:
            self.worker = Process(["worker", "--interval", "0.3"], env, self.folder / "worker.log")
        processes = [*self.apps, *([self.worker] if self.worker else [])]
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready()

    def restart_app(self, number: int) -> None:
        """Kill an app instance with -9 and start it again on its port."""
        app = self.apps[number]
        app.kill9()
        app.start()
        app.wait_ready()

    def close(self) -> None:
        for process in [*self.apps, *([self.worker] if self.worker else [])]:
            process.kill9()  # throwaway: nothing to shut down gracefully


@contextmanager
def cluster() -> Iterator[tuple[Postgres, str]]:
    """A throwaway PostgreSQL with a migrated, seeded template database; yields it and the template's name."""
    pg = Postgres()
    try:
        pg.init()
        pg.create_database("seed")
        engine = create_engine(pg.url("seed"))
        prepare_database(engine, load_demo=True)
        engine.dispose()
        yield pg, "seed"
    finally:
        pg.close()


@contextmanager
def rig(pg: Postgres, template: str, folder: Path, *, instances: int = 1, embedder: str = "none") -> Iterator[Rig]:
    """A fresh database from the template, a Redis, the stand-in, `instances` app processes and a worker."""
    database_url = pg.create_database("f_" + secrets.token_hex(5), template=template)
    server = RedisServer()
    server.start()
    try:
        with standin() as (api_url, api):
            built = Rig(pg, server, database_url, api_url, api, folder)
            try:
                built.start(instances=instances, embedder=embedder)
                yield built
            finally:
                built.close()
    finally:
        server.stop()


@contextmanager
def embedded_rig(folder: Path, *, embedder: str = "none") -> Iterator[Rig]:
    """The embedded default: one `serve` on a SQLite file, with its in-process cache and timer worker."""
    database_url = f"sqlite:///{folder / 'appealbot.db'}"
    with standin() as (api_url, api):
        built = Rig(None, None, database_url, api_url, api, folder)
        try:
            built.start(instances=1, embedder=embedder)
            yield built
        finally:
            built.close()


@dataclass
class Message:
    openid: str
    msg_id: int
    text: str
    deliveries: int = 0
    statuses: list[str] = field(default_factory=list)
    passive: bool = False  # WeChat got a reply in the HTTP answer
    latency: float | None = None  # from the first delivery to the accepted answer


async def _deliver(rig: Rig, client: httpx.AsyncClient, message: Message, number: int) -> None:
    """Deliver one message as WeChat does: up to three times, 5 s apart, each to the next instance."""
    first = time.monotonic()
    fields = {
        "ToUserName": "gh_appealbot_demo", "FromUserName": message.openid, "CreateTime": int(time.time()),
        "MsgType": "text", "Content": message.text, "MsgId": message.msg_id,
    }  # fmt: skip
    for attempt in range(DELIVERIES):
        await asyncio.sleep(max(0.0, first + attempt * TIMEOUT - time.monotonic()))
        urls = rig.urls
        query, body = rig.peer.request(fields)  # signed (and encrypted) afresh, as WeChat does
        message.deliveries += 1
        try:
            response = await client.post(
                urls[(number * rig.spread + attempt) % len(urls)] + "/wechat", params=query, content=body,
                headers={"Content-Type": "text/xml"}, timeout=TIMEOUT,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            message.statuses.append(type(exc).__name__)
            continue
        message.statuses.append(str(response.status_code))
        if response.status_code == 200:
            message.passive = response.text != "success" and rig.peer.open_reply(response.content) is not None
            message.latency = time.monotonic() - first
            return


async def send(rig: Rig, messages: list[Message], *, rate: float) -> None:
    """Send the messages at `rate` a second (each with WeChat's retries) and wait for every delivery to end."""
    start = time.monotonic()
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=0)  # a fresh connection, as WeChat's
    async with httpx.AsyncClient(limits=limits) as client:

        async def one(number: int, message: Message) -> None:
            await asyncio.sleep(max(0.0, start + number / rate - time.monotonic()))
            await _deliver(rig, client, message, number)

        await asyncio.gather(*(one(number, message) for number, message in enumerate(messages)))


def messages_for(run: str, count: int) -> list[Message]:
    base = int(time.time() * 1000) % 10**9 * 1000
    return [Message(f"o_{run}_{n}", base + n, QUESTIONS[n % len(QUESTIONS)]) for n in range(count)]


def add_orphans(rig: Rig, run: str, count: int) -> list[Message]:
    """Messages an app stored and then died on (claimed a minute ago, never processed), for the worker."""
    now = datetime.now(UTC)
    found = messages_for(run, count)
    engine = create_engine(rig.database_url)
    with engine.begin() as connection:
        for message in found:
            fields = {
                "ToUserName": "gh_appealbot_demo", "FromUserName": message.openid, "MsgType": "text",
                "CreateTime": str(int(now.timestamp())), "Content": message.text, "MsgId": str(message.msg_id),
            }  # fmt: skip
            connection.execute(
                insert(InboundMessage).values(
                    dedup_key=f"m:{message.openid}:{message.msg_id}",
                    openid=message.openid,
                    msg_id=message.msg_id,
                    msg_type="text",
                    text=message.text,
                    fields=fields,
                    sent_at=now,
                    received_at=now,
                    attempts=1,
                    claimed_at=now - timedelta(minutes=1),
                )
            )
    engine.dispose()
    return found


@dataclass
class Tally:
    """What one scenario ended with; `answered` counts passive replies and customer-service messages at the stand-in."""

    scenario: str
    sent: int
    stored: int
    answered: int
    duplicates: int
    lost: int
    # never stored: no delivery was answered and the last found no server listening (WeChat gives up after three)
    unreachable: int
    db_processed: int
    db_replies: int  # inbound messages with exactly one stored reply
    uncertain: int  # customer-service sends left in doubt by a kill (sent once at the stand-in, never again)
    latencies: list[float]
    problems: list[str]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def tally(rig: Rig, scenario: str, messages: list[Message]) -> Tally:
    openids = [message.openid for message in messages]
    engine: Engine = create_engine(rig.database_url)
    try:
        with engine.connect() as connection:
            inbound = connection.execute(
                select(InboundMessage.id, InboundMessage.openid, InboundMessage.processed_at).where(
                    InboundMessage.openid.in_(openids)
                )
            ).all()
            replies = dict(
                connection.execute(
                    select(OutboundMessage.inbound_id, func.count())
                    .where(OutboundMessage.openid.in_(openids))
                    .group_by(OutboundMessage.inbound_id)
                ).all()
            )
            uncertain = connection.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.openid.in_(openids), OutboundMessage.status.in_(["sending", "uncertain"]))
            )
    finally:
        engine.dispose()
    problems: list[str] = []
    answered = duplicates = lost = unreachable = 0
    stored_openids = [row.openid for row in inbound]
    for message in messages:
        pushed = len(rig.api.received.get(message.openid, []))
        answers = pushed + int(message.passive)
        # Never stored, no delivery ever answered, and the last one found no server listening: WeChat gave up.
        transport = {"ConnectError", "ReadError", "RemoteProtocolError"}
        refused = bool(message.statuses) and message.statuses[-1] == "ConnectError"
        refused = refused and all(status in transport for status in message.statuses)
        if answers == 0 and refused and message.openid not in stored_openids:
            unreachable += 1
            problems.append(f"{message.openid}: no server took any of its deliveries")
        elif answers == 0:
            lost += 1
            problems.append(f"{message.openid}: no answer (deliveries {message.statuses})")
        else:
            answered += 1
        if answers > 1:
            duplicates += answers - 1
            problems.append(f"{message.openid}: {answers} answers (passive {message.passive}, pushed {pushed})")
    stored = len(set(stored_openids))
    if len(stored_openids) != stored:
        problems.append("a message was stored twice")
    return Tally(
        scenario=scenario,
        sent=len(messages),
        stored=stored,
        answered=answered,
        duplicates=duplicates,
        lost=lost,
        unreachable=unreachable,
        db_processed=sum(1 for row in inbound if row.processed_at is not None),
        db_replies=sum(1 for row in inbound if replies.get(row.id) == 1),
        uncertain=int(uncertain or 0),
        latencies=[message.latency for message in messages if message.latency is not None],
        problems=problems,
    )


def settle(rig: Rig, scenario: str, messages: list[Message], *, timeout: float = 30) -> Tally:
    """Wait until every message is answered (or `timeout`), then long enough for a late duplicate to show."""
    deadline = time.monotonic() + timeout
    found = tally(rig, scenario, messages)
    while (found.lost or found.db_processed < found.stored) and time.monotonic() < deadline:
        time.sleep(0.5)
        found = tally(rig, scenario, messages)
    time.sleep(RECOVER_AFTER + 0.5)  # a second answer would come from the worker's next passes
    return tally(rig, scenario, messages)


def kill_worker_at(rig: Rig, count: int) -> threading.Event:
    """Kill the worker with -9 when the stand-in has received its `count`-th customer-service message and not yet
    answered it (WeChat has the message; the worker has not recorded it): the moment a resend would duplicate."""
    killed = threading.Event()
    seen = 0

    def on_received(_: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1
        if seen == count and rig.worker is not None:
            rig.worker.kill9()
            killed.set()

    rig.api.on_received = on_received
    return killed


def wait_in_flight(rig: Rig, busy: int, *, patience: float) -> None:
    """Wait until at least `busy` messages are stored and not answered yet (or `patience` seconds)."""
    engine = create_engine(rig.database_url, pool_size=1)
    give_up = time.monotonic() + patience
    query = select(func.count()).select_from(InboundMessage).where(InboundMessage.processed_at.is_(None))
    try:
        with engine.connect() as connection:
            while time.monotonic() < give_up and int(connection.scalar(query) or 0) < busy:
                connection.commit()
                time.sleep(0.005)
    finally:
        engine.dispose()


def _repeated(rig: Rig, times: list[float], action: Callable[[], None], *, busy: int = 0) -> threading.Thread:
    """One thread doing `action` at each of `times` (seconds from now, ascending), each time once at least `busy`
    messages are in flight (or PATIENCE seconds later than planned), so that the fault cuts processing short."""
    start = time.monotonic()

    def run() -> None:
        for moment in times:
            time.sleep(max(0.0, start + moment - time.monotonic()))
            if busy:
                wait_in_flight(rig, busy, patience=PATIENCE)
            action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def run_scenario(
    rig: Rig, scenario: str, *, count: int, rate: float, fault_at: float = 1.5, repeat: int = 1, period: float = 8.0
) -> Tally:
    """Send `count` messages at `rate` a second while the scenario's fault happens (`repeat` times, `period` s
    apart); the tally once settled."""
    messages = messages_for(scenario + secrets.token_hex(2), count)
    faults: list[threading.Thread] = []
    times = [fault_at + number * period for number in range(repeat)]
    if scenario == "postgres_restart":
        assert rig.pg is not None
        faults.append(_repeated(rig, times, rig.pg.restart, busy=BUSY))
    elif scenario == "redis_outage":
        redis = rig.redis
        assert redis is not None

        def outage() -> None:
            redis.stop()
            time.sleep(2.5)
            redis.start()

        faults.append(_repeated(rig, times, outage, busy=BUSY))
    elif scenario in {"app_kill", "embedded_app_kill"}:
        rig.spread = False  # the messages in flight at the kill are the killed instance's
        faults.append(_repeated(rig, times, lambda: rig.restart_app(0), busy=BUSY))
    elif scenario == "worker_kill":
        orphans = add_orphans(rig, scenario + secrets.token_hex(2), max(10, count // 2))
        killed = kill_worker_at(rig, max(3, len(orphans) // 3))

        def restart_worker() -> None:
            assert killed.wait(timeout=60), "the worker was never killed"
            assert rig.worker is not None
            rig.worker.start()
            rig.worker.wait_ready()

        faults.append(_repeated(rig, [0.0], restart_worker))
    else:
        raise ValueError(scenario)
    asyncio.run(send(rig, messages, rate=rate))
    for thread in faults:
        thread.join(timeout=90)
    if scenario == "worker_kill":
        messages += orphans
        for orphan in orphans:  # never delivered by WeChat here: the dead app had taken them
            orphan.latency = None
    return settle(rig, scenario, messages)
