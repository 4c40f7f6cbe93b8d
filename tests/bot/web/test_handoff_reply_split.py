"""A long staff reply in a hand-off reaches WeChat's customer-service API in pieces of at most 2,048 bytes,
cut as the bot's own replies are, in order and with nothing lost (seen at the WeChat API stand-in)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bot.chat.dialogue import MAX_REPLY_BYTES, NEXT_PIECE
from bot.chat.models import Handoff, OutboundMessage
from bot.platform.settings import Settings
from bot.web.console.inbox_pages import MAX_REPLY
from tests.bot.web.console_support import BOSS, client, prepare_console, run
from tests.support.servers import running
from tests.support.wechat import fixture, post


def test_long_staff_reply_is_split_like_bot_replies(settings: Settings) -> None:
    prepare_console(settings)
    sentence = "您反映的开业审批问题，我们已与区审批局核实，材料齐全后三个工作日内办结。"
    text = (sentence * (MAX_REPLY // len(sentence) + 1))[:MAX_REPLY]  # the longest reply the form takes
    with running(settings) as (url, app), httpx.Client(base_url=url, timeout=10) as wechat:
        status, reply, raw = post(
            wechat, settings, fixture("text", FromUserName="o_long", MsgId="57000001", Content="人工客服")
        )
        assert status == 200 and reply is not None, raw
        handoff_id = run(settings, lambda s: s.scalar(select(Handoff.id).where(Handoff.openid == "o_long")))
        staff, token = client(url, BOSS)
        response = staff.post(f"/console/inbox/{handoff_id}/reply", data={"csrf_token": token, "text": text})
        assert response.status_code == 303 and "done=sent" in response.headers["location"], response.text[:300]
        received = [m["text"]["content"] for m in app.state.standin.received["o_long"]]
    assert len(received) > 1
    assert all(len(piece.encode()) <= MAX_REPLY_BYTES for piece in received)
    assert all(piece.endswith(NEXT_PIECE) for piece in received[:-1])
    assert not received[-1].endswith(NEXT_PIECE)
    glued = "".join(piece.removesuffix(NEXT_PIECE) for piece in received)
    assert glued.startswith("【") and glued.endswith(text)  # nothing lost at the cuts
    # every piece is a stored outbound message of the hand-off, so staff see the reply as sent
    stored = run(
        settings,
        lambda s: s.scalars(
            select(OutboundMessage.text).where(OutboundMessage.handoff_id == handoff_id).order_by(OutboundMessage.id)
        ).all(),
    )
    assert list(stored)[-len(received) :] == received
