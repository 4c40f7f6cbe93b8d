"""The live match index: rebuilt on change, swapped whole, told by other processes (Redis) or found by polling."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypedDict, Unpack

import pytest
from sqlalchemy import Engine, delete

from bot.chat.match_index import MatchIndex
from bot.platform import db
from bot.platform.broadcast import Broadcast
from bot.platform.settings import Settings
from bot.services import open_services, prepare_database
from intents.matcher import Matcher
from policies import models as policy_models
from policies.catalog import policy_from_record
from policies.models import Policy

NEW_POLICY = {
    "code": "X01",
    "name": "楼宇经济入驻奖励",
    "body": "某区商务局",
    "content": "对新入驻重点商务楼宇的企业给予房租补贴。",
    "keywords": ["楼宇入驻", "写字楼房租补贴"],
}
QUESTION = "入驻写字楼有房租补贴吗"
ROOT = Path(__file__).resolve().parents[3]


def codes(matcher: Matcher, text: str = QUESTION) -> list[str]:
    return [hit.code for hit in matcher.match(text).policies]


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = db.make_engine(settings.database_url)
    prepare_database(engine, load_demo=True)
    yield engine
    engine.dispose()


def add_policy(engine: Engine, record: Mapping[str, object] = NEW_POLICY) -> None:
    with db.transaction(db.session_factory(engine)) as session:
        session.add(policy_from_record(record))


async def eventually(check: Callable[[], bool], *, within: float = 5.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


class IndexOptions(TypedDict, total=False):
    broadcast: Broadcast | None
    interval: float


def new_index(settings: Settings, **options: Unpack[IndexOptions]) -> MatchIndex:
    return MatchIndex(database_url=settings.database_url, timezone=settings.app.timezone, **options)


async def test_refresh_rebuilds_only_on_change_and_swaps_whole(settings: Settings, engine: Engine) -> None:
    index = new_index(settings)
    await asyncio.to_thread(index.load)
    old = index.matcher
    assert "X01" not in codes(old)
    assert await index.refresh() is False
    add_policy(engine)
    assert await index.refresh() is True
    assert codes(index.matcher)[0] == "X01"
    assert "X01" not in codes(old)  # the previous matcher is untouched: a request holding it stays consistent
    assert index.builds == 2
    with db.transaction(db.session_factory(engine)) as session:
        session.execute(delete(Policy).where(Policy.code == "X01"))
    assert await index.refresh() is True
    assert "X01" not in codes(index.matcher)
    await index.close()


async def test_poll_sees_a_write_by_another_process_on_sqlite(settings: Settings, engine: Engine) -> None:
    index = new_index(settings, interval=0.2)
    await asyncio.to_thread(index.load)
    await index.start()
    try:
        script = (
            "from bot.platform import db\nfrom policies.catalog import policy_from_record\n"
            f"engine = db.make_engine({settings.database_url!r})\n"
            "with db.transaction(db.session_factory(engine)) as session:\n"
            f"    session.add(policy_from_record({NEW_POLICY!r}))\n"
        )
        subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=60)
        seconds = await eventually(lambda: "X01" in codes(index.matcher))
        assert seconds < 3.0
    finally:
        await index.close()


async def test_a_notice_makes_another_index_rebuild_at_once(settings: Settings, engine: Engine) -> None:
    broadcast = Broadcast()  # in-process: both indexes listen on it as two processes would on Redis
    writer = new_index(settings, broadcast=broadcast, interval=3600)
    reader = new_index(settings, broadcast=broadcast, interval=3600)  # never polls within the test
    for index in (writer, reader):
        await asyncio.to_thread(index.load)
        await index.start()
    try:
        add_policy(engine)
        await writer.notify_changed()
        assert codes(writer.matcher)[0] == "X01"  # rebuilt before notify_changed returns
        await eventually(lambda: "X01" in codes(reader.matcher), within=3.0)
        assert writer.builds == 2  # its own notice did not rebuild it twice
    finally:
        for index in (writer, reader):
            await index.close()


@pytest.mark.redis
async def test_a_notice_crosses_redis(settings: Settings, engine: Engine, redis_url: tuple[str, str]) -> None:
    url, prefix = redis_url
    writer = new_index(settings, broadcast=Broadcast(url, prefix=prefix), interval=3600)
    reader = new_index(settings, broadcast=Broadcast(url, prefix=prefix), interval=3600)
    for index in (writer, reader):
        await asyncio.to_thread(index.load)
        await index.start()
    try:
        await asyncio.sleep(0.3)  # the reader's subscription is in place
        add_policy(engine)
        await writer.notify_changed()
        await eventually(lambda: "X01" in codes(reader.matcher), within=3.0)
    finally:
        for index in (writer, reader):
            await index.close()


async def test_admin_lexicon_groups_are_merged(settings: Settings, engine: Engine) -> None:
    entry = getattr(policy_models, "LexiconEntry", None)
    if entry is None:
        pytest.skip("the policy list has no lexicon table yet")
    add_policy(engine)
    index = new_index(settings)
    await asyncio.to_thread(index.load)
    nickname = "大厦进驻有钱领吗"  # shares no word with the policy until an admin says what 大厦进驻 means
    assert "X01" not in codes(index.matcher, nickname)
    with db.transaction(db.session_factory(engine)) as session:
        session.add(entry(term="楼宇经济", aliases=["大厦进驻"]))
    assert await index.refresh() is True
    assert codes(index.matcher, nickname)[0] == "X01"
    await index.close()


@pytest.mark.slow  # readers spin against three full rebuilds: 2-8 s on two cores
async def test_readers_never_see_a_half_built_index(settings: Settings, engine: Engine) -> None:
    index = new_index(settings)
    await asyncio.to_thread(index.load)
    errors: list[BaseException] = []
    seen: set[tuple[str, ...]] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.add(tuple(codes(index.matcher, "稳岗返还怎么申请")))
            except BaseException as exc:  # any failure of a reader is the bug this test looks for
                errors.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(3):
            await index.refresh(force=True)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not errors
    assert seen == {tuple(codes(index.matcher, "稳岗返还怎么申请"))}
    await index.close()


async def test_services_load_the_index_before_the_first_message(settings: Settings) -> None:
    started = time.perf_counter()
    services = await open_services(settings, load_demo=True)
    try:
        assert services.match_index.builds == 1
        matched = time.perf_counter()
        assert codes(services.matcher, "稳岗返还怎么申请")[0] == "P05"
        assert time.perf_counter() - matched < 0.1  # nothing left to load on the first message
        assert callable(services.match_index.notify_changed)
    finally:
        await services.close()
    assert time.perf_counter() - started < 30
