"""Pushes of a policy: preview, campaign, sending through the WeChat API stand-in with every rule (退订, the weekly
limit, eligibility, quiet hours), delivery reports, replies to a push, reminders before 申报截止, and the recovery
of sends whose worker died. On the embedded default and on PostgreSQL + Redis (`backend`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.jobs import push_jobs
from bot.platform import db
from bot.platform.settings import Settings
from bot.services import Services, open_services
from bot.wechat.standin import StandIn
from enterprises import service as enterprise_service
from enterprises.models import FieldSource
from policies import campaigns, deliveries
from policies import service as policy_service
from policies.models import Delivery, DeliveryState, PushChannel, PushKind, TemplateReport
from tests.bot.jobs.push_support import (
    TEMPLATE,
    ZONE,
    Firm,
    add_firms,
    add_past_pushes,
    add_policy,
    local,
    received,
    states,
)
from tests.support.servers import reporter, running, standin
from tests.support.wechat import fixture, post

FIRMS = (
    Firm(1, "制造业", "小", ("o_small_a", "o_small_b")),  # two people of one enterprise
    Firm(2, "制造业", "微", ("o_micro_optout",)),
    Firm(3, "建筑业", "小", ("o_builder",)),  # another industry
    Firm(4, "制造业", "小", ("o_busy",)),  # three pushes this week already
    Firm(5, "制造业", "小", ()),  # nobody bound
    Firm(6, "制造业", None, ("o_size_unknown",)),  # cannot tell
)
TAGS = "行业:制造业;规模:小微;类型:补贴"


@dataclass
class World:
    services: Services
    engine: Engine
    api: StandIn
    ids: dict[int, int]

    def session(self) -> Session:
        return db.session_factory(self.engine)()


@pytest.fixture
def engine_of(backend: Settings) -> Iterator[Engine]:
    engine = db.make_engine(backend.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def world(backend: Settings, engine_of: Engine) -> AsyncIterator[World]:
    with standin() as (api_url, api):
        settings = backend.replace("simulator", enabled=False).replace("wechat", api_base=api_url)
        settings = settings.replace(
            "push", template_id=TEMPLATE, quiet_hours="21:00-08:00", weekly_limit=3, rate=1000.0
        )
        services = await open_services(settings, load_demo=False)
        try:
            with db.transaction(db.session_factory(engine_of)) as session:
                ids = add_firms(session, FIRMS)
                add_policy(session, "T1", TAGS, name="小微制造企业技改补贴")
                add_past_pushes(session, ids[4], "o_busy", count=3, when=datetime.now(UTC) - timedelta(days=2))
                deliveries.opt_out(session=session, openid="o_micro_optout", kinds=["all"], now=datetime.now(UTC))
            yield World(services, engine_of, api, ids)
        finally:
            await services.close()


def create_campaign(world: World, code: str = "T1", kind: PushKind = PushKind.NEW) -> int:
    with db.transaction(db.session_factory(world.engine)) as session:
        policy = policy_service.get_by_code(session=session, code=code)
        assert policy is not None
        campaign = campaigns.create(
            session=session, policy=policy, author="admin", today=datetime.now(UTC).date(), now=datetime.now(UTC),
            kind=kind,
        )  # fmt: skip
        return campaign.id


async def test_preview_then_campaign_with_every_rule(world: World) -> None:
    with world.session() as session:
        policy = policy_service.get_by_code(session=session, code="T1")
        assert policy is not None
        found = campaigns.preview(session=session, policy=policy, today=datetime.now(UTC).date())
    shown = found.as_json()
    assert (shown["policy"], shown["eligible"], shown["bound"]) == ("T1", 4, 3)
    by_code = {item["uscc"]: item["openids"] for item in shown["enterprises"]}
    assert by_code == {
        FIRMS[0].uscc: ["o_small_a", "o_small_b"], FIRMS[1].uscc: ["o_micro_optout"], FIRMS[3].uscc: ["o_busy"],
        FIRMS[4].uscc: [],
    }  # fmt: skip
    sample = found.targets[0]
    assert sample.text.startswith("【政策推送】小微制造企业技改补贴\n贵企业为制造业小微企业，符合适用对象。")
    assert "回复“退订”不再接收推送" in sample.text and sample.fields["keyword1"] == "小微制造企业技改补贴"
    campaign_id = create_campaign(world)
    with pytest.raises(campaigns.CampaignExists):
        create_campaign(world)  # one campaign per policy version
    # quiet hours: nothing goes out at 22:30, nor at 07:59
    assert await push_jobs.send_due(world.services, now=local(22, 30)) == 0
    assert await push_jobs.send_due(world.services, now=local(7, 59)) == 0
    assert received(world.api) == {} and set(states(world.engine, campaign_id).values()) == {"queued"}
    assert await push_jobs.send_due(world.services, now=local(10, 0)) == 2
    got = received(world.api)
    assert sorted(got) == ["o_small_a", "o_small_b"] and all(len(items) == 1 for items in got.values())
    assert got["o_small_a"][0]["data"]["remark"]["value"].startswith("贵企业为制造业小微企业，符合适用对象。")
    assert states(world.engine, campaign_id) == {
        "o_small_a": "sent", "o_small_b": "sent", "o_micro_optout": "unsubscribed", "o_busy": "over_quota",
    }  # fmt: skip
    # exactly once: further passes send nothing more
    assert await push_jobs.send_due(world.services, now=local(10, 5)) == 0
    assert sum(len(items) for items in received(world.api).values()) == 2
    with world.session() as session:
        counts = campaigns.counts(session=session, campaign_id=campaign_id)
    assert (counts["sent"], counts["unsubscribed"], counts["over_quota"], counts["queued"]) == (2, 1, 1, 0)


async def test_optouts_and_ineligibility_are_honoured_when_the_turn_comes(world: World) -> None:
    campaign_id = create_campaign(world)
    with db.transaction(db.session_factory(world.engine)) as session:  # after the campaign was confirmed:
        deliveries.opt_out(session=session, openid="o_small_b", kinds=[PushKind.NEW], now=datetime.now(UTC))
        firm = enterprise_service.get_by_id(session=session, enterprise_id=world.ids[4])
        assert firm is not None
        enterprise_service.apply(
            session=session, enterprise=firm, values={"size": "大"}, source=FieldSource.STAFF, author="clerk"
        )  # it grew: no longer a small enterprise
        deliveries.opt_in(session=session, openid="o_micro_optout")
    await push_jobs.send_due(world.services, now=local(10, 0))
    found = states(world.engine, campaign_id)
    assert (found["o_small_b"], found["o_busy"], found["o_micro_optout"]) == ("unsubscribed", "ineligible", "sent")
    assert sorted(received(world.api)) == ["o_micro_optout", "o_small_a"]


async def test_a_reminder_before_the_deadline_goes_only_to_the_untold(world: World) -> None:
    today = datetime.now(ZONE).date()
    with db.transaction(db.session_factory(world.engine)) as session:
        add_policy(session, "T2", f"{TAGS};申报截止:{(today + timedelta(days=5)).isoformat()}", name="限期申报补贴")
    told = create_campaign(world, "T2")
    with db.transaction(db.session_factory(world.engine)) as session:  # o_small_a was told; o_small_b failed
        rows = session.scalars(select(Delivery).where(Delivery.campaign_id == told)).all()
        for row in rows:
            row.state = DeliveryState.SENT if row.openid == "o_small_a" else DeliveryState.FAILED
    assert await push_jobs.queue_reminders(world.services) == 1
    assert await push_jobs.queue_reminders(world.services) == 0  # once per policy version
    with world.session() as session:
        reminder = campaigns.campaigns(session=session)[0]
    assert reminder.kind == PushKind.REMINDER
    assert set(states(world.engine, reminder.id)) == {"o_small_b", "o_micro_optout", "o_busy"}
    await push_jobs.send_due(world.services, now=local(9, 0))
    texts = [item["data"]["first"]["value"] for item in received(world.api).get("o_small_b", [])]
    assert texts == ["惠企政策申报即将截止"]


async def test_a_dead_workers_sends_are_settled_by_reports_or_sent_again_once(world: World) -> None:
    campaign_id = create_campaign(world)
    claimed_at = datetime.now(UTC) - timedelta(minutes=20)

    def route(session: Session, openids: Sequence[str]) -> dict[str, deliveries.Route]:
        return {openid: PushChannel.TEMPLATE for openid in openids}

    with db.transaction(db.session_factory(world.engine)) as session:  # a worker claims, then dies mid-call
        taken = deliveries.claim(
            session=session, now=claimed_at, today=claimed_at.date(), day_start=claimed_at - timedelta(hours=1),
            worker="dead", limit=10, limits=deliveries.Limits(weekly=3, daily=1000), route=route,
        )  # fmt: skip
        assert sorted(item.openid for item in taken) == ["o_small_a", "o_small_b"]
        for item in taken:  # both calls under way when the worker died
            assert deliveries.mark_called(session=session, delivery_id=item.id, now=claimed_at)
        # WeChat did receive the call for o_small_a: its delivery report names the user
        session.add(
            TemplateReport(msgid=777, openid="o_small_a", status="success", received_at=claimed_at, matched=False)
        )
    found = await push_jobs.recover(world.services)
    assert found == {"released": 0, "uncertain": 2, "settled": 1, "requeued": 1}  # o_small_b: no report for 10 min
    assert states(world.engine, campaign_id)["o_small_a"] == "delivered"
    await push_jobs.send_due(world.services, now=local(10, 0))
    assert sorted(received(world.api)) == ["o_small_b"]  # o_small_a is never sent twice
    assert await push_jobs.recover(world.services) == {"released": 0, "uncertain": 0, "settled": 0, "requeued": 0}


async def test_sends_claimed_but_never_called_are_queued_again_at_once(world: World) -> None:
    campaign_id = create_campaign(world)
    claimed_at = datetime.now(UTC) - timedelta(minutes=2)

    def route(session: Session, openids: Sequence[str]) -> dict[str, deliveries.Route]:
        return {openid: PushChannel.TEMPLATE for openid in openids}

    with db.transaction(db.session_factory(world.engine)) as session:  # a worker claims a batch and dies at once
        taken = deliveries.claim(
            session=session, now=claimed_at, today=claimed_at.date(), day_start=claimed_at - timedelta(hours=1),
            worker="dead", limit=10, limits=deliveries.Limits(weekly=3, daily=1000), route=route,
        )  # fmt: skip
        assert len(taken) == 2
    assert await push_jobs.recover(world.services) == {"released": 2, "uncertain": 0, "settled": 0, "requeued": 0}
    assert set(states(world.engine, campaign_id).values()) >= {"queued"}
    await push_jobs.send_due(world.services, now=local(10, 0))
    assert sorted(received(world.api)) == ["o_small_a", "o_small_b"]
    assert all(len(items) == 1 for items in received(world.api).values())


async def test_reports_replies_and_unsubscribing_through_wechat(backend: Settings, engine_of: Engine) -> None:
    settings = backend.replace("push", template_id=TEMPLATE, rate=1000.0, quiet_hours="")
    with running(settings) as (app_url, _), standin() as (api_url, api):
        api.report = reporter(app_url, settings)
        api.report_status["o_small_b"] = "failed:user block"
        worker_settings = settings.replace("simulator", enabled=False).replace("wechat", api_base=api_url)
        services = await open_services(worker_settings, load_demo=False)
        try:
            with db.transaction(db.session_factory(engine_of)) as session:
                add_firms(session, FIRMS[:1])
                add_policy(session, "T1", TAGS, name="小微制造企业技改补贴")
            world = World(services, engine_of, api, {})
            campaign_id = create_campaign(world)
            assert await push_jobs.send_due(services) == 2
            await _eventually(lambda: set(states(engine_of, campaign_id).values()) == {"delivered", "failed"})
            assert states(engine_of, campaign_id) == {"o_small_a": "delivered", "o_small_b": "failed"}
            with httpx.Client(base_url=app_url, timeout=15) as client:

                def say(text: str) -> str:
                    _, reply, raw = post(client, settings, fixture("text", FromUserName="o_small_a", Content=text,
                                                                   MsgId=str(abs(hash(text)) % 10**12)))  # fmt: skip
                    assert reply is not None, raw
                    return str(reply["Content"])

                assert say("详情").startswith("【小微制造企业技改补贴】")
                assert "已退订政策推送和申报提醒" in say("退订")
            with db.session_factory(engine_of)() as session:
                assert campaigns.counts(session=session, campaign_id=campaign_id)["opened"] == 1
                assert deliveries.opted_out(session=session, openids=["o_small_a"]) == {"o_small_a": {"all"}}
        finally:
            await services.close()


async def _eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the time limit"
        await asyncio.sleep(0.1)
