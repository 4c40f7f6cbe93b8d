"""/wechat end to end on the embedded default: every fixture in every mode, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, func, insert, select

from bot.chat.models import InboundMessage, OutboundMessage, Subscriber
from bot.platform.settings import Settings
from storage import Base
from tests.conftest import fresh_settings
from tests.support.databases import Templates
from tests.support.servers import running
from tests.support.wechat import fixture, post

# What each fixture must be answered with: a phrase of the passive reply, or None for "success".
EXPECTED: dict[str, str | None] = {
    "text": "回复序号",
    "voice": "回复序号",
    "voice_unrecognised": "没能识别这条语音",
    "image": "已收到您发送的图片",
    "video": "已收到您发送的视频",
    "shortvideo": "已收到您发送的小视频",
    "location": "已收到您发送的位置",
    "link": "已收到您发送的链接",
    "event_subscribe": "欢迎关注",
    "event_subscribe_qrscene": "欢迎关注",
    "event_unsubscribe": None,
    "event_scan": "欢迎回来",
    "event_location": None,
    "event_click": "请直接描述您企业的情况",
    "event_view": None,
    "event_templatesendjobfinish": None,
    "unknown_type": "暂不支持这种消息",
}


class Server:
    def __init__(self, url: str, app: FastAPI, settings: Settings) -> None:
        self.url, self.app, self.settings = url, app, settings
        self.client = httpx.Client(base_url=url, timeout=10)
        self.engine = create_engine(settings.database_url)

    def post(self, xml: str) -> tuple[int, dict[str, Any] | None, str]:
        return post(self.client, self.settings, xml)

    def count(self, model: type[Base]) -> int:
        with self.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture(scope="module", params=["plain", "compatible", "safe"])
def server(
    request: pytest.FixtureRequest, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    settings = fresh_settings(tmp_path_factory.mktemp(request.param), templates, mode=request.param)
    with running(settings) as (url, app):
        server = Server(url, app, settings)
        yield server
        server.client.close()
        server.engine.dispose()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_message_type_gets_its_answer(server: Server, name: str) -> None:
    openid = f"o_{name}_{server.settings.wechat.mode}"
    status, reply, raw = server.post(fixture(name, FromUserName=openid))
    assert status == 200, raw
    expected = EXPECTED[name]
    if expected is None:
        assert raw == "success"
        return
    assert reply is not None, raw
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == openid
    assert expected in reply["Content"]
    if server.settings.wechat.mode == "safe":
        assert "<Encrypt>" in raw and expected not in raw


def test_inbound_and_reply_are_stored(server: Server) -> None:
    openid = "o_stored_" + server.settings.wechat.mode
    before_in, before_out = server.count(InboundMessage), server.count(OutboundMessage)
    status, reply, _ = server.post(fixture("text", FromUserName=openid, MsgId="99000001"))
    assert status == 200 and reply is not None
    assert server.count(InboundMessage) == before_in + 1
    assert server.count(OutboundMessage) == before_out + 1
    with server.engine.connect() as connection:
        row = connection.execute(select(InboundMessage).where(InboundMessage.openid == openid)).one()
        out = connection.execute(select(OutboundMessage).where(OutboundMessage.inbound_id == row.id)).one()
    assert row.msg_id == 99000001 and row.text == "稳岗返还怎么申请" and row.processed_at is not None
    assert out.channel == "passive" and out.status == "sent" and out.text == reply["Content"]


def test_subscribe_scene_and_unsubscribe_are_recorded(server: Server) -> None:
    openid = "o_scene_" + server.settings.wechat.mode
    server.post(fixture("event_subscribe_qrscene", FromUserName=openid))
    with server.engine.connect() as connection:
        row = connection.execute(select(Subscriber).where(Subscriber.openid == openid)).one()
    assert row.subscribed and row.scene == "beiyuanmen_hall"
    server.post(fixture("event_unsubscribe", FromUserName=openid))
    with server.engine.connect() as connection:
        row = connection.execute(select(Subscriber).where(Subscriber.openid == openid)).one()
    assert not row.subscribed and row.unsubscribed_at is not None


def test_numbered_choice_and_more(server: Server) -> None:
    openid = "o_choice_" + server.settings.wechat.mode
    asked = fixture("text", FromUserName=openid, MsgId="99000002", Content="小微企业有什么税收优惠")
    _, listing, _ = server.post(asked)
    assert listing is not None and "回复序号" in listing["Content"]
    _, detail, _ = server.post(fixture("text", FromUserName=openid, MsgId="99000003", Content="1"))
    assert detail is not None
    assert "申报材料" in detail["Content"] or "所需材料" in detail["Content"]
    _, wrong, _ = server.post(fixture("text", FromUserName=openid, MsgId="99000004", Content="9"))
    assert wrong is not None and "序号" in wrong["Content"]


def test_retry_gets_the_same_reply_and_is_stored_once(server: Server) -> None:
    openid = "o_retry_" + server.settings.wechat.mode
    xml = fixture("text", FromUserName=openid, MsgId="99000010", Content="高新技术企业有什么优惠")
    before = server.count(InboundMessage)
    first = server.post(xml)
    second = server.post(xml)
    assert first[1] == second[1] or (first[1] and second[1] and first[1]["Content"] == second[1]["Content"])
    assert server.count(InboundMessage) == before + 1


def test_template_delivery_status_is_recorded(server: Server) -> None:
    openid = "o_template_" + server.settings.wechat.mode
    msgid = 2000000001

    with server.engine.begin() as connection:
        connection.execute(
            insert(OutboundMessage).values(
                openid=openid,
                text="诉求进度通知",
                channel="template",
                status="sent",
                attempts=1,
                template_msg_id=msgid,
                created_at=datetime.now(UTC),
            )
        )
    status, _, raw = server.post(fixture("event_templatesendjobfinish", FromUserName=openid, MsgID=str(msgid)))
    assert status == 200 and raw == "success"
    with server.engine.connect() as connection:
        row = connection.execute(select(OutboundMessage).where(OutboundMessage.template_msg_id == msgid)).one()
    assert row.status == "failed" and row.error == "failed:user block"


def test_get_url_verification(server: Server) -> None:
    from bot.wechat.protocol import signature

    token = server.settings.wechat.token
    now = str(int(time.time()))
    params = {"signature": signature(token, now, "42"), "timestamp": now, "nonce": "42", "echostr": "8327845734756435"}
    ok = server.client.get("/wechat", params=params)
    assert ok.status_code == 200 and ok.text == "8327845734756435"
    # signed correctly, but an hour old: outside the timestamp window
    hour_ago = str(int(now) - 3600)
    stale = {**params, "signature": signature(token, hour_ago, "42"), "timestamp": hour_ago}
    assert server.client.get("/wechat", params=stale).status_code == 403
    forged = server.client.get("/wechat", params={**params, "signature": "f" * 40})
    assert forged.status_code == 403 and "8327845734756435" not in forged.text
