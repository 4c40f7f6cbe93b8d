"""Never late: a reply not ready within the budget is answered "success" and pushed through the API."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.chat.models import OutboundMessage
from bot.platform.settings import Settings
from tests.support.servers import running, standin
from tests.support.slow import Instrumented
from tests.support.wechat import fixture, post


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def outbound(settings: Settings, openid: str) -> list[OutboundMessage]:
    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(OutboundMessage).where(OutboundMessage.openid == openid)))
    finally:
        engine.dispose()


def test_slow_reply_is_pushed_as_customer_service_message(backend: Settings) -> None:
    with standin() as (api_url, api):
        settings = backend.replace("simulator", enabled=False).replace("wechat", api_base=api_url, reply_budget=0.3)
        with running(settings) as (url, app), httpx.Client(base_url=url, timeout=10) as client:
            probe = Instrumented(app, delay=1.5)
            openid = "o_slow_" + str(int(time.time() * 1000))
            xml = fixture("text", FromUserName=openid, MsgId="88000001", Content="小微企业有什么税收优惠")
            status, reply, raw = post(client, settings, xml)
            # answered before the processing finished, so within the budget and not after it
            assert (status, reply, raw) == (200, None, "success")
            assert not probe.finished.is_set()
            assert wait_for(lambda: api.received.get(openid))
            pushed = api.received[openid]
            assert len(pushed) == 1
            assert pushed[0]["msgtype"] == "text"
            assert pushed[0]["text"]["content"] == probe.replies[0]
            assert "回复序号" in pushed[0]["text"]["content"]
            assert wait_for(lambda: [row.status for row in outbound(settings, openid)] == ["sent"])
            rows = outbound(settings, openid)
            assert rows[0].channel == "customer_service"
            # WeChat's retry of the same message gets the same answer and causes no second push
            assert post(client, settings, xml)[2] == "success"
            time.sleep(0.3)
            assert len(api.received[openid]) == 1 and len(probe.calls) == 1


def test_outside_the_48_hour_window_is_kept_for_staff(backend: Settings) -> None:
    with standin() as (api_url, api):
        settings = backend.replace("simulator", enabled=False).replace("wechat", api_base=api_url, reply_budget=0.2)
        with running(settings) as (url, app), httpx.Client(base_url=url, timeout=10) as client:
            Instrumented(app, delay=0.6)
            openid = "o_window_" + str(int(time.time() * 1000))
            api.failures[openid] = 45015
            status, _, raw = post(client, settings, fixture("text", FromUserName=openid, MsgId="88000002"))
            assert (status, raw) == (200, "success")
            assert wait_for(lambda: [row.status for row in outbound(settings, openid)] == ["undelivered"])
            row = outbound(settings, openid)[0]
            assert row.error_code == 45015 and row.text
            assert api.received.get(openid, []) == []
