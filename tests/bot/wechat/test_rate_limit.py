"""A per-openid rate limit: messages over it are stored and answered politely, but the dialogue never sees them.

Over HTTP with real signed XML, on the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, func, select

from bot.chat.models import Handoff, InboundMessage
from bot.chat.rate_limit import TOO_FAST
from bot.platform.settings import Settings
from tests.support.servers import running
from tests.support.wechat import fixture, post


def test_messages_over_the_limit_are_stored_not_processed(backend: Settings) -> None:
    settings = backend.replace("wechat", rate_limit=3, rate_window=600)
    engine = create_engine(settings.database_url)
    with running(settings) as (url, _app), httpx.Client(base_url=url, timeout=10) as client:

        def say(openid: str, msg_id: int, text: str) -> str:
            xml = fixture("text", FromUserName=openid, MsgId=str(msg_id), Content=text)
            status, reply, raw = post(client, settings, xml)
            assert status == 200 and reply is not None, raw
            return str(reply["Content"])

        answers = [say("o_chatty", 55000000 + n, "你好") for n in range(3)]
        assert TOO_FAST not in answers
        # the fourth asks for a person: over the limit, so no hand-off opens, and the answer says it was kept
        assert say("o_chatty", 55000010, "人工客服") == TOO_FAST
        assert say("o_chatty", 55000011, "稳岗返还怎么申请") == TOO_FAST
        # a retry of a limited message is answered the same and not counted again
        retry = fixture("text", FromUserName="o_chatty", MsgId="55000011", Content="稳岗返还怎么申请")
        again = post(client, settings, retry)[1]
        assert again is not None and again["Content"] == TOO_FAST
        # another enterprise is not limited, and the same words open a hand-off for it
        assert say("o_quiet", 55000020, "人工客服") != TOO_FAST

    with engine.connect() as connection:
        kept = connection.scalars(
            select(InboundMessage.text).where(InboundMessage.openid == "o_chatty").order_by(InboundMessage.id)
        ).all()
        rows = connection.execute(select(Handoff.openid, func.count()).group_by(Handoff.openid))
        handoffs = {str(openid): int(count) for openid, count in rows}
    engine.dispose()
    assert kept == ["你好", "你好", "你好", "人工客服", "稳岗返还怎么申请"]  # every message stored, once
    assert handoffs.get("o_chatty", 0) == 0
    assert handoffs.get("o_quiet") == 1


def test_the_limit_can_be_turned_off(backend: Settings) -> None:
    settings = backend.replace("wechat", rate_limit=0)
    with running(settings) as (url, _app), httpx.Client(base_url=url, timeout=10) as client:
        for n in range(25):
            xml = fixture("text", FromUserName="o_unlimited", MsgId=str(56000000 + n), Content="你好")
            reply = post(client, settings, xml)[1]
            assert reply is not None and reply["Content"] != TOO_FAST
