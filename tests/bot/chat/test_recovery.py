"""Never lost: a stored message whose processing did not finish is taken over (by WeChat's retry, or by the worker)
and answered once; a customer-service send cut off mid-way is settled, not repeated; with Redis down a retry is
answered from the database at once. On the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.exc import OperationalError

from bot.chat.models import InboundMessage, OutboundMessage
from bot.jobs import worker
from bot.platform.cache import make_cache
from bot.platform.settings import Settings
from bot.services import open_services
from tests.support.servers import running, standin
from tests.support.wechat import fixture, post

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.wechat.protocol import Inbound

QUESTION = "小微企业有什么税收优惠"
_ids = itertools.count(int(time.time()) % 100_000 * 1000)


def next_id() -> str:
    return str(66_000_000_000 + next(_ids))


class LosesTheDatabaseOnce:
    """Wrap the app's real dialogue: its first run fails as when PostgreSQL restarts under it; later runs answer."""

    def __init__(self, app: FastAPI) -> None:
        self.calls = 0
        self.answered = 0
        dialogue = app.state.services.inbox.dialogue
        original: Callable[[Inbound], Awaitable[str | None]] = dialogue.respond

        async def respond(inbound: Inbound) -> str | None:
            self.calls += 1
            if self.calls == 1:
                raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
            reply = await original(inbound)
            self.answered += 1
            return reply

        dialogue.respond = respond


def rows(settings: Settings, openid: str) -> tuple[list[InboundMessage], list[OutboundMessage]]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            inbound = connection.execute(select(InboundMessage).where(InboundMessage.openid == openid)).all()
            outbound = connection.execute(select(OutboundMessage).where(OutboundMessage.openid == openid)).all()
        return list(inbound), list(outbound)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_a_retry_takes_over_when_the_first_delivery_lost_the_database(backend: Settings) -> None:
    openid = "o_lost_db_" + next_id()
    xml = fixture("text", FromUserName=openid, MsgId=next_id(), Content=QUESTION)
    with running(backend) as (url, app), httpx.Client(base_url=url, timeout=10) as client:
        probe = LosesTheDatabaseOnce(app)
        first = post(client, backend, xml)
        retry = post(client, backend, xml)  # WeChat's retry: the stored message is taken over at once
    assert first[0] == 503  # WeChat retries a 5xx
    assert retry[0] == 200 and retry[1] is not None and "回复序号" in retry[1]["Content"], retry
    assert probe.answered == 1
    inbound, outbound = rows(backend, openid)
    assert len(inbound) == 1 and inbound[0].processed_at is not None and inbound[0].attempts == 2
    assert [(row.channel, row.status) for row in outbound] == [("passive", "sent")]


def test_a_retry_stores_what_a_dead_first_delivery_claimed_but_never_stored(backend: Settings) -> None:
    with standin() as (api_url, api):
        settings = backend.replace("simulator", enabled=False).replace("wechat", api_base=api_url, reply_budget=0.5)
        openid, msg_id = "o_claimed_only_" + next_id(), next_id()
        xml = fixture("text", FromUserName=openid, MsgId=msg_id, Content=QUESTION)
        with running(settings) as (url, app), httpx.Client(base_url=url, timeout=10) as client:
            # The first delivery took the cache claim and died before the message was stored.
            claim = f"dedup:m:{openid}:{msg_id}"
            if settings.redis.url:
                asyncio.run(_claim_in_redis(settings, claim))
            else:  # the app's in-process cache (plain dicts: safe to touch from this thread)
                asyncio.run(app.state.services.cache.set(claim, "pending", ttl=60))
            status, reply, raw = post(client, settings, xml)  # WeChat's retry
            assert (status, reply, raw) == (200, None, "success")
            assert wait_for(lambda: api.received.get(openid))
        pushed = [item["text"]["content"] for item in api.received[openid]]
        assert len(pushed) == 1 and "回复序号" in pushed[0]
        inbound, outbound = rows(settings, openid)
        assert len(inbound) == 1 and inbound[0].processed_at is not None
        assert [(row.channel, row.status) for row in outbound] == [("customer_service", "sent")]


async def _claim_in_redis(settings: Settings, key: str) -> None:
    cache = make_cache(settings.redis.url, prefix=settings.redis.prefix)
    try:
        await cache.set(key, "pending", ttl=60)
    finally:
        await cache.close()


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def add_stuck(settings: Settings, openid: str, *, claimed: timedelta, attached_as: str | None = None) -> None:
    """A message an app stored and then died on (no answer, no reply), as its row is left."""
    now = datetime.now(UTC)
    msg_id = next_id()
    fields = {"ToUserName": "gh_appealbot_demo", "FromUserName": openid, "CreateTime": str(int(now.timestamp())),
              "MsgType": "text", "Content": QUESTION, "MsgId": msg_id}  # fmt: skip
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(InboundMessage).values(
                    dedup_key=f"m:{openid}:{msg_id}",
                    openid=openid,
                    msg_id=int(msg_id),
                    msg_type="text",
                    text=QUESTION,
                    fields=fields,
                    sent_at=now,
                    received_at=now,
                    attempts=1,
                    claimed_at=now - claimed,
                    attached_as=attached_as,
                )
            )
    finally:
        engine.dispose()


@pytest.mark.database("schema")
async def test_the_worker_answers_what_a_dead_app_left_once(backend: Settings) -> None:
    with standin() as (api_url, api):
        settings = backend.replace("simulator", enabled=False).replace("wechat", api_base=api_url, recover_after=6)
        services = await open_services(settings, load_demo=True)
        try:
            add_stuck(settings, "o_orphan_a", claimed=timedelta(minutes=1))
            add_stuck(settings, "o_orphan_b", claimed=timedelta(minutes=1), attached_as="draft")
            add_stuck(settings, "o_busy", claimed=timedelta(seconds=1))  # its owner may still be at work
            await worker.sweep(services)
            await worker.sweep(services)  # a second pass answers nothing twice
            pushed = {openid: [item["text"]["content"] for item in items] for openid, items in api.received.items()}
            assert set(pushed) == {"o_orphan_a", "o_orphan_b"}
            assert len(pushed["o_orphan_a"]) == 1 and "回复序号" in pushed["o_orphan_a"][0]
            # its step had committed before the app died: acknowledged, not run again
            assert pushed["o_orphan_b"] == ["您的消息已收到并记录。如需查看诉求进度，请发送“进度”。"]
            for openid in ("o_orphan_a", "o_orphan_b"):
                inbound, outbound = rows(settings, openid)
                assert inbound[0].processed_at is not None and inbound[0].attempts == 2
                assert [(row.channel, row.status) for row in outbound] == [("customer_service", "sent")]
            assert rows(settings, "o_busy")[0][0].processed_at is None
        finally:
            await services.close()


@pytest.mark.database("schema")
async def test_a_send_cut_off_after_calling_wechat_is_not_repeated(backend: Settings) -> None:
    with standin() as (api_url, api):
        settings = backend.replace("simulator", enabled=False).replace("wechat", api_base=api_url)
        services = await open_services(settings, load_demo=False)
        engine = create_engine(settings.database_url)
        try:
            long_ago = datetime.now(UTC) - timedelta(minutes=5)
            with engine.begin() as connection:
                connection.execute(
                    insert(InboundMessage).values(
                        dedup_key="m:o_cut:1",
                        openid="o_cut",
                        msg_type="text",
                        fields={},
                        sent_at=long_ago,
                        received_at=datetime.now(UTC),
                        processed_at=long_ago,
                        attempts=1,
                        claimed_at=long_ago,
                    )
                )
                # its sender called WeChat and died before recording the answer
                connection.execute(
                    insert(OutboundMessage).values(
                        openid="o_cut",
                        text="已发出？",
                        channel="customer_service",
                        status="sending",
                        attempts=1,
                        created_at=long_ago,
                        called_at=long_ago,
                    )
                )
            await worker.sweep(services)
            await worker.sweep(services)
            with engine.connect() as connection:
                statuses = list(connection.scalars(select(OutboundMessage.status)))
            assert statuses == ["uncertain"]
            assert "o_cut" not in api.received  # never sent a second time
        finally:
            engine.dispose()
            await services.close()


@pytest.mark.postgres
def test_with_redis_down_a_retry_is_answered_from_the_database_at_once(production_settings: Settings) -> None:
    # A budget longer than WeChat waits (5 s): a retry that polled the unreachable cache for it would time out.
    settings = production_settings.replace("redis", url="redis://127.0.0.1:1/0").replace("wechat", reply_budget=20)
    openid = "o_no_redis_fast"
    xml = fixture("text", FromUserName=openid, MsgId=next_id(), Content=QUESTION)
    with running(settings) as (url, _), httpx.Client(base_url=url, timeout=5) as client:
        first = post(client, settings, xml)
        retries = [post(client, settings, xml) for _ in range(2)]
    assert first[0] == 200 and first[1] is not None
    assert [(status, reply) for status, reply, _ in retries] == [(200, first[1])] * 2
    inbound, outbound = rows(settings, openid)
    assert len(inbound) == 1 and len(outbound) == 1
