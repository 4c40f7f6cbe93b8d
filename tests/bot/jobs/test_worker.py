"""The worker picks up replies whose delivery did not finish (a crashed sender, an API outage)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, insert, select

from bot.chat.models import InboundMessage, OutboundMessage
from bot.jobs import worker
from bot.platform.settings import Settings
from bot.services import open_services
from tests.conftest import fresh_settings
from tests.support.databases import Templates
from tests.support.servers import running, standin
from tests.support.slow import Instrumented
from tests.support.wechat import fixture, post


def add_pending(settings: Settings, openid: str, text: str, *, attempts: int, age: timedelta) -> int:
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            return int(
                connection.execute(
                    insert(OutboundMessage)
                    .values(
                        openid=openid,
                        text=text,
                        channel="customer_service",
                        status="pending",
                        attempts=attempts,
                        created_at=datetime.now(UTC) - age,
                    )
                    .returning(OutboundMessage.id)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def add_inbound(settings: Settings, openid: str, *, age: timedelta) -> None:
    engine = create_engine(settings.database_url)
    moment = datetime.now(UTC) - age
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(InboundMessage).values(
                    dedup_key=f"m:{openid}:{moment.timestamp()}",
                    openid=openid,
                    msg_type="text",
                    fields={},
                    sent_at=moment,
                    received_at=moment,
                )
            )
    finally:
        engine.dispose()


def status_of(settings: Settings, outbound_id: int) -> tuple[str, int, str | None]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(OutboundMessage.status, OutboundMessage.attempts, OutboundMessage.error).where(
                    OutboundMessage.id == outbound_id
                )
            ).one()
        return row.status, row.attempts, row.error
    finally:
        engine.dispose()


@pytest.mark.database("schema")  # migrated, with the routing table: what load_demo=False leaves
async def test_pending_replies_are_sent_by_a_fresh_worker(backend: Settings) -> None:
    with standin() as (api_url, api):
        settings = backend.replace("simulator", enabled=False).replace("wechat", api_base=api_url)
        services = await open_services(settings, load_demo=False)
        try:
            # left behind by a process that died after storing them, before sending
            add_inbound(settings, "o_orphan", age=timedelta(minutes=3))
            orphan = add_pending(settings, "o_orphan", "您的回复", attempts=1, age=timedelta(minutes=2))
            # the user last wrote three days ago: WeChat would refuse (45015), so it is kept for staff
            add_inbound(settings, "o_silent", age=timedelta(days=3))
            silent = add_pending(settings, "o_silent", "迟到的回复", attempts=1, age=timedelta(minutes=2))
            fresh = add_pending(settings, "o_fresh", "正在发送", attempts=1, age=timedelta(seconds=1))
            exhausted = add_pending(
                settings, "o_tired", "发不出去", attempts=worker.MAX_ATTEMPTS, age=timedelta(minutes=5)
            )
            await worker.sweep(services)
            assert status_of(settings, orphan) == ("sent", 2, None)
            assert [item["text"]["content"] for item in api.received["o_orphan"]] == ["您的回复"]
            assert status_of(settings, fresh)[0] == "pending"  # its own sender may still be at work
            assert status_of(settings, exhausted)[0] == "failed"
            assert status_of(settings, silent) == ("undelivered", 2, "超过48小时客服消息窗口")
            assert "o_silent" not in api.received
            await worker.sweep(services)  # a second pass sends nothing twice
            assert len(api.received["o_orphan"]) == 1
        finally:
            await services.close()


def test_unsubscribed_user_gets_no_push(templates: Templates, tmp_path: Path) -> None:
    with standin() as (api_url, api):
        settings = fresh_settings(tmp_path, templates).replace("simulator", enabled=False)
        settings = settings.replace("wechat", api_base=api_url, reply_budget=0.2)
        with running(settings) as (url, app), httpx.Client(base_url=url, timeout=10) as client:
            probe = Instrumented(app, delay=1.0, only="text")
            openid = "o_leaving"
            assert post(client, settings, fixture("text", FromUserName=openid, MsgId="66000001"))[2] == "success"
            assert post(client, settings, fixture("event_unsubscribe", FromUserName=openid))[2] == "success"
            assert probe.finished.wait(10)
            deadline = time.monotonic() + 10
            rows: list[tuple[str, str | None]] = []
            engine = create_engine(settings.database_url)
            while time.monotonic() < deadline:
                with engine.connect() as connection:
                    rows = [
                        (row.status, row.error)
                        for row in connection.execute(select(OutboundMessage).where(OutboundMessage.openid == openid))
                    ]
                if rows and rows[0][0] != "pending":
                    break
                time.sleep(0.05)
            engine.dispose()
            assert rows == [("undelivered", "用户已取消关注")]
            assert api.received.get(openid, []) == []
