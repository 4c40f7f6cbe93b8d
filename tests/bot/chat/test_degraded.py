"""With Redis down the bot still answers, once per message: PostgreSQL's unique keys decide."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from bot.chat.models import InboundMessage
from bot.platform.settings import Settings
from tests.support.servers import running
from tests.support.wechat import fixture, post


@pytest.mark.postgres
def test_redis_down_in_production(production_settings: Settings) -> None:
    settings = production_settings.replace("redis", url="redis://127.0.0.1:1/0")  # nothing listens there
    xml = fixture("text", FromUserName="o_no_redis", MsgId="44000001", Content="稳岗返还怎么申请")
    with running(settings) as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        first = post(client, settings, xml)
        retry = post(client, settings, xml)
        health = client.get("/healthz")
    assert first[0] == retry[0] == 200
    assert first[1] is not None and retry[1] is not None and first[1]["Content"] == retry[1]["Content"]
    assert health.status_code == 200 and health.json()["redis"]["ok"] is False  # liveness: degraded, not down
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        stored = connection.scalar(
            select(func.count()).select_from(InboundMessage).where(InboundMessage.openid == "o_no_redis")
        )
    engine.dispose()
    assert stored == 1
