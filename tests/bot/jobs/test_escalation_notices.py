"""The enterprise hears of each visible step: a customer-service message inside WeChat's 48-hour window,
else a template message, else the appeal is flagged for staff to phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from bot.chat.dialogue import MAX_REPLY_BYTES, NEXT_PIECE
from bot.chat.models import InboundMessage, OutboundMessage
from bot.jobs import worker
from bot.platform import db
from bot.platform.settings import Settings
from bot.services import open_services
from routing import dispatch, lifecycle
from routing.lifecycle import Actor
from routing.models import ActorRole, Appeal, EnterpriseNotice, Unit
from tests.support.servers import standin


def wrote(engine: Engine, openid: str, *, ago: timedelta) -> None:
    moment = datetime.now(UTC) - ago
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


def file_and_sign(engine: Engine, openid: str) -> int:
    with db.transaction(db.session_factory(engine)) as session:
        appeal = dispatch.file_appeal(
            session=session,
            submission=dispatch.Submission(
                openid=openid,
                enterprise="某某公司",
                contact="张三",
                phone="13800000000",
                description="政府拖欠工程款",
                category_code="C11",
            ),
        )
        unit_id = session.scalars(select(Unit.id).where(Unit.name == "区工信交通局")).one()
        lifecycle.sign(session=session, appeal_id=appeal.id, actor=Actor(ActorRole.STAFF, "li", unit_id))
        return appeal.id


def notices(engine: Engine) -> dict[str, list[tuple[str, str]]]:
    with db.session_factory(engine)() as session:
        rows = session.execute(
            select(EnterpriseNotice.openid, EnterpriseNotice.event, EnterpriseNotice.status).order_by(
                EnterpriseNotice.id
            )
        ).all()
    found: dict[str, list[tuple[str, str]]] = {}
    for openid, event, status in rows:
        found.setdefault(openid, []).append((event, status))
    return found


@pytest.mark.database("schema")  # migrated, with the routing table: what load_demo=False leaves
async def test_each_step_reaches_the_enterprise_by_the_best_channel_left(backend: Settings) -> None:
    with standin() as (api_url, api):
        settings = backend.replace("simulator", enabled=False).replace("wechat", api_base=api_url)
        services = await open_services(settings, load_demo=False)
        engine = db.make_engine(settings.database_url)
        try:
            wrote(engine, "o_recent", ago=timedelta(hours=1))
            wrote(engine, "o_old", ago=timedelta(days=3))
            recent, old = file_and_sign(engine, "o_recent"), file_and_sign(engine, "o_old")
            await worker.sweep(services)  # the worker's whole pass, as `appealbot worker` runs it
            [message] = api.received["o_recent"]
            assert message["kind"] == "customer_service" and "已由区工信交通局签收" in message["text"]["content"]
            assert "o_old" not in api.received  # outside the window and no template id: a phone call
            assert notices(engine) == {"o_recent": [("signed", "sent")], "o_old": [("signed", "needs_call")]}
            with db.session_factory(engine)() as session:
                flags = dict(session.execute(select(Appeal.openid, Appeal.needs_call)).all())
            assert flags == {"o_recent": False, "o_old": True}
            await worker.sweep(services)  # nothing is sent twice
            assert len(api.received["o_recent"]) == 1
        finally:
            await services.close()

        templated = settings.replace("wechat", api_base=api_url, template_appeal_update="TPL_APPEAL_UPDATE")
        services = await open_services(templated, load_demo=False)
        try:
            with db.transaction(db.session_factory(engine)) as session:
                unit_id = session.scalars(select(Unit.id).where(Unit.name == "区工信交通局")).one()
                lead = Actor(ActorRole.STAFF, "li", unit_id)
                for appeal_id in (recent, old):
                    lifecycle.contact(session=session, appeal_id=appeal_id, actor=lead)
                    lifecycle.answer(session=session, appeal_id=appeal_id, actor=lead, text="款项已于今日支付")
            await worker.sweep(services)
            [template] = api.received["o_old"]
            assert template["kind"] == "template" and template["template_id"] == "TPL_APPEAL_UPDATE"
            assert template["data"]["keyword2"]["value"] == "已答复待回访"
            assert "款项已于今日支付" in template["data"]["remark"]["value"]
            assert api.received["o_recent"][-1]["kind"] == "customer_service"  # the window is still open
            assert notices(engine)["o_old"] == [("signed", "needs_call"), ("answered", "template")]
            with db.session_factory(engine)() as session:
                channel, msgid = session.execute(
                    select(OutboundMessage.channel, OutboundMessage.template_msg_id).where(
                        OutboundMessage.openid == "o_old"
                    )
                ).one()
            assert channel == "template" and msgid == template["msgid"]
        finally:
            await services.close()
            engine.dispose()


@pytest.mark.database("schema")
async def test_a_long_answer_reaches_the_enterprise_in_pieces_wechat_accepts(settings: Settings) -> None:
    sentence = "经核实，拖欠的工程款已纳入本月支付计划，财政局将于五个工作日内拨付到位。"
    answer = sentence * 40  # about 4,400 bytes: more than one customer-service message holds
    with standin() as (api_url, api):
        configured = settings.replace("simulator", enabled=False).replace("wechat", api_base=api_url)
        services = await open_services(configured, load_demo=False)
        engine = db.make_engine(configured.database_url)
        try:
            wrote(engine, "o_long", ago=timedelta(hours=1))
            appeal_id = file_and_sign(engine, "o_long")
            await worker.sweep(services)  # the 签收 notice
            with db.transaction(db.session_factory(engine)) as session:
                unit_id = session.scalars(select(Unit.id).where(Unit.name == "区工信交通局")).one()
                lead = Actor(ActorRole.STAFF, "li", unit_id)
                lifecycle.contact(session=session, appeal_id=appeal_id, actor=lead)
                lifecycle.answer(session=session, appeal_id=appeal_id, actor=lead, text=answer)
            await worker.sweep(services)
            pieces = [message["text"]["content"] for message in api.received["o_long"][1:]]
        finally:
            await services.close()
            engine.dispose()
    assert len(pieces) > 1
    assert all(len(piece.encode()) <= MAX_REPLY_BYTES for piece in pieces)
    glued = "".join(piece.removesuffix(NEXT_PIECE) for piece in pieces)
    assert answer in glued  # nothing lost at the cuts, in order
    assert notices(engine)["o_long"] == [("signed", "sent"), ("answered", "sent")]
