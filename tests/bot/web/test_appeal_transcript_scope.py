"""The appeal page shows only that appeal's conversation: one enterprise, two appeals with two units, and neither
unit's staff read what the enterprise wrote about the other's appeal (over real HTTP against the real app)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.chat.models import Attached, Channel, InboundMessage, OutboundMessage, OutboundStatus
from bot.platform.settings import Settings
from routing.models import Appeal
from tests.bot.web.console_support import CLERK, JUDGE, client, file, prepare_console, run
from tests.support.servers import running

OPENID = "o_two_appeals"


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    prepare_console(settings)
    with running(settings) as served:
        yield served


def say(settings: Settings, text: str, *, appeal: str | None = None, attached: Attached | None = None) -> int:
    """An inbound message of the enterprise (linked to an appeal as the bot links it), and the bot's answer."""

    def work(session: Session) -> int:
        appeal_id = session.scalar(select(Appeal.id).where(Appeal.reference == appeal)) if appeal else None
        moment = datetime.now(UTC)
        inbound_id = session.execute(
            insert(InboundMessage)
            .values(
                dedup_key=f"m:{OPENID}:{text}",
                openid=OPENID,
                msg_type="text",
                text=text,
                fields={},
                sent_at=moment,
                received_at=moment,
                appeal_id=appeal_id,
                attached_as=attached,
            )
            .returning(InboundMessage.id)
        ).scalar_one()
        session.execute(
            insert(OutboundMessage).values(
                openid=OPENID,
                inbound_id=inbound_id,
                text=f"回复：{text}",
                channel=Channel.PASSIVE,
                status=OutboundStatus.SENT,
                created_at=moment + timedelta(seconds=1),
            )
        )
        return int(inbound_id)

    return run(settings, work)


def test_each_unit_sees_only_its_own_appeal_of_one_enterprise(settings: Settings, live: tuple[str, FastAPI]) -> None:
    url, _ = live
    approval = file(settings, openid=OPENID, description="营业执照办下来了，却迟迟不让开业", category="C06")
    justice = file(settings, openid=OPENID, description="办事要开循环证明", category="C08")
    say(settings, "审批局这边的补充：3号窗口", appeal=approval, attached=Attached.SUPPLEMENT)
    say(settings, "司法局的事：公证处要我证明我妈是我妈", appeal=justice, attached=Attached.DRAFT)
    say(settings, "另一个正在填写、尚未提交的诉求：劳动纠纷", attached=Attached.DRAFT)
    say(settings, "请问什么时候有结果")  # unlinked, while both are open: either unit may read it

    clerk, _ = client(url, CLERK)
    judge, _ = client(url, JUDGE)
    mine = clerk.get(f"/console/appeals/{approval}")
    theirs = judge.get(f"/console/appeals/{justice}")
    assert mine.status_code == 200 and theirs.status_code == 200
    assert "审批局这边的补充" in mine.text and "回复：审批局这边的补充" in mine.text
    assert "请问什么时候有结果" in mine.text and "请问什么时候有结果" in theirs.text
    assert "公证处要我证明" not in mine.text and "回复：司法局的事" not in mine.text
    assert "公证处要我证明" in theirs.text
    assert "3号窗口" not in theirs.text
    for page in (mine, theirs):
        assert "劳动纠纷" not in page.text
    # Another unit's appeal stays a 404 as before.
    assert clerk.get(f"/console/appeals/{justice}").status_code == 404
