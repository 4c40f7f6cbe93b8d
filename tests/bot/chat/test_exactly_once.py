"""Exactly once under WeChat's retries, against real PostgreSQL and Redis, across two app instances."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from bot.chat.models import InboundMessage, OutboundMessage
from bot.platform.settings import Settings
from tests.support.servers import running
from tests.support.slow import Instrumented
from tests.support.wechat import fixture, post

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def counts(settings: Settings, openid: str) -> tuple[int, int]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            inbound = connection.scalar(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.openid == openid)
            )
            outbound = connection.scalar(
                select(func.count()).select_from(OutboundMessage).where(OutboundMessage.openid == openid)
            )
        return int(inbound or 0), int(outbound or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_three_concurrent_deliveries_are_processed_once(production_settings: Settings, mode: str) -> None:
    settings = production_settings.replace("wechat", mode=mode)
    with running(settings) as (url_a, app_a), running(settings) as (url_b, app_b):
        # Processing takes 0.5 s, so the three deliveries overlap while the first is still working.
        probes = [Instrumented(app_a, delay=0.5), Instrumented(app_b, delay=0.5)]
        openid = f"o_concurrent_{mode}"
        xml = fixture("text", FromUserName=openid, MsgId="77000001", Content="小微企业有什么税收优惠")
        clients = [httpx.Client(base_url=url, timeout=10) for url in (url_a, url_b, url_a)]
        with ThreadPoolExecutor(3) as pool:
            # each delivery is signed (and encrypted) afresh, as WeChat's retries are
            results = list(pool.map(lambda client: post(client, settings, xml), clients))
        for client in clients:
            client.close()
        statuses = [status for status, _, _ in results]
        replies = [reply for _, reply, _ in results]
        assert statuses == [200, 200, 200]
        assert replies[0] is not None and "回复序号" in replies[0]["Content"]
        assert replies[0] == replies[1] == replies[2] or all(
            r is not None and r["Content"] == replies[0]["Content"] for r in replies
        )
        assert sum(len(probe.calls) for probe in probes) == 1
        assert counts(settings, openid) == (1, 1)


def test_retry_after_the_answer_repeats_it_from_another_instance(production_settings: Settings) -> None:
    with running(production_settings) as (url_a, _), running(production_settings) as (url_b, app_b):
        probe = Instrumented(app_b, delay=0)
        xml = fixture("text", FromUserName="o_retry_late", MsgId="77000002", Content="稳岗返还怎么申请")
        with httpx.Client(base_url=url_a, timeout=10) as a, httpx.Client(base_url=url_b, timeout=10) as b:
            first = post(a, production_settings, xml)
            retry = post(b, production_settings, xml)
        assert first[0] == retry[0] == 200
        assert first[1] is not None and retry[1] is not None
        assert first[1]["Content"] == retry[1]["Content"]
        assert probe.calls == []
        assert counts(production_settings, "o_retry_late") == (1, 1)


def test_dedup_survives_a_flushed_cache(production_settings: Settings) -> None:
    """If Redis forgets the claim, the unique key in PostgreSQL still stops a second processing."""
    import redis

    xml = fixture("text", FromUserName="o_flushed", MsgId="77000003", Content="研发费用加计扣除")
    with running(production_settings) as (url, app), httpx.Client(base_url=url, timeout=10) as client:
        first = post(client, production_settings, xml)
        store = redis.Redis.from_url(production_settings.redis.url)
        for key in store.scan_iter(match=production_settings.redis.prefix + "*"):
            store.delete(key)
        store.close()
        probe = Instrumented(app, delay=0)
        again = post(client, production_settings, xml)
    assert first[1] is not None and again[1] is not None and first[1]["Content"] == again[1]["Content"]
    assert probe.calls == []
    assert counts(production_settings, "o_flushed") == (1, 1)
