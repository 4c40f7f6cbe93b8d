"""Binding an enterprise in the chat, through /wechat with real signed XML: 绑定企业, 我的企业, 解绑, the profile
questions, and policy answers that put the policies the enterprise qualifies for first."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.platform import db
from bot.platform.settings import Settings
from enterprises import service
from enterprises.models import FieldSource
from tests.conftest import base_settings
from tests.enterprises.support import code, stored
from tests.support.servers import running
from tests.support.wechat import fixture, post

REGISTERED = code(21)
UNKNOWN = code(22)
_ids = itertools.count(88_000_001)


class Phone:
    """One WeChat user writing to the official account."""

    def __init__(self, client: httpx.Client, settings: Settings, openid: str) -> None:
        self.client, self.settings, self.openid = client, settings, openid

    def say(self, text: str) -> str:
        status, reply, raw = post(self.client, self.settings, fixture("text", FromUserName=self.openid, Content=text,
                                                                       MsgId=str(next(_ids))))  # fmt: skip
        assert status == 200 and reply is not None, raw
        return str(reply["Content"])

    def click(self, key: str) -> str:
        xml = fixture("event_click", FromUserName=self.openid, EventKey=key, CreateTime=str(next(_ids)))
        status, reply, raw = post(self.client, self.settings, xml)
        assert status == 200 and reply is not None, raw
        return str(reply["Content"])


def register(settings: Settings) -> None:
    """An imported register record: 行业 and 规模 verified, 资质 not known, a contact who is not for others to see."""
    engine = db.make_engine(settings.database_url)
    try:
        db.upgrade(engine)
        with db.transaction(db.session_factory(engine)) as session:
            values: dict[str, Any] = {
                "name": "西安莲湖精工机械有限公司", "industry": "制造业", "size": "小", "contact": "王经理",
                "phone": "029-88886666",
            }  # fmt: skip
            service.create(session=session, uscc=REGISTERED, values=values, source=FieldSource.REGISTER, author="导入")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = base_settings(tmp_path_factory.mktemp("bind"))
    register(settings)
    with running(settings) as (url, _), httpx.Client(base_url=url, timeout=15) as client:
        yield client, settings


def test_a_registered_enterprise_binds_with_its_code_and_name(server: tuple[httpx.Client, Settings]) -> None:
    client, settings = server
    boss = Phone(client, settings, "o_bind_registered")
    assert "统一社会信用代码" in boss.say("绑定企业")
    assert "请发送企业名称" in boss.say(REGISTERED.lower())
    assert "登记信息不一致" in boss.say("莲湖某某公司")
    bound = boss.say("西安莲湖精工机械有限公司")
    assert "绑定成功：西安莲湖精工机械有限公司" in bound
    assert "贵企业有下列哪些资质" in bound and "行业" not in bound.split("绑定成功")[1].split("资质")[0]
    done = boss.say("1 2")  # 高新技术企业, 科技型中小企业
    assert "已记录" in done and "条政策符合适用条件" in done
    profile = boss.say("我的企业")
    assert "行业：制造业（导入核验）" in profile and "资质：高新技术企业、科技型中小企业（企业自报）" in profile
    assert "王经理" not in profile and "88886666" not in profile  # contacts are not shown in the chat
    assert "登记核验，不能在这里修改" in boss.say("修改行业")
    # a second person of the same enterprise binds too; unbinding one leaves the other
    clerk = Phone(client, settings, "o_bind_registered_2")
    clerk.say("绑定企业")
    assert "绑定成功" in clerk.say(f"{REGISTERED} 西安莲湖精工机械有限公司")
    assert "已解除与「西安莲湖精工机械有限公司」的绑定" in clerk.say("解绑")
    assert "您还没有绑定企业" in clerk.say("我的企业")
    assert "西安莲湖精工机械有限公司" in boss.say("我的企业")


def test_an_unknown_enterprise_is_self_reported_and_sees_fitting_policies_first(
    server: tuple[httpx.Client, Settings],
) -> None:
    client, settings = server
    owner = Phone(client, settings, "o_bind_unknown")
    assert "统一社会信用代码" in owner.click("BIND_ENTERPRISE")
    bad = owner.say(UNKNOWN[:-1] + ("0" if UNKNOWN[-1] != "0" else "1"))
    assert "校验位不符（GB 32100-2015）" in bad
    first = owner.say(f"{UNKNOWN}，莲湖小巷面馆有限公司")
    assert "已按您提供的信息为「莲湖小巷面馆有限公司」建档（企业自报）" in first and "贵企业主要做什么" in first
    assert "贵企业的规模是" in owner.say("3")  # 住宿和餐饮业
    assert "资质" in owner.say("微型")
    owner.say("无")
    profile = stored(settings)[UNKNOWN]
    assert (profile.industry, profile.size, profile.qualifications) == ("住宿和餐饮业", "微", [])
    assert profile.sources["size"]["source"] == FieldSource.SELF and profile.sources["size"]["by"] == "o_bind_unknown"
    listing = owner.say("小微企业有什么税收优惠")
    lines = listing.splitlines()
    assert lines[0].startswith("根据贵企业的信息，标【符合】的") and lines[1].startswith("1. 【符合】")
    marked = [line for line in lines if line[:1].isdigit()]
    fitting = [index for index, line in enumerate(marked) if "【符合】" in line]
    assert fitting and fitting == list(range(len(fitting)))  # the fitting ones come first
    detail = owner.say("1")
    assert "适用判断：贵企业为小微企业，符合适用对象" in detail
    mine = owner.say("我能享受的政策")
    assert "符合适用条件的政策有" in mine and "贵企业为" in mine
    assert "【" in owner.say("1")  # a policy of that list opens by its number


def test_other_messages_leave_the_binding(server: tuple[httpx.Client, Settings]) -> None:
    client, settings = server
    someone = Phone(client, settings, "o_bind_other")
    someone.say("绑定企业")
    answer = someone.say("稳岗返还怎么申请")
    assert "回复序号" in answer  # the dialogue answered the question; the binding gave way
    assert "还没有绑定企业" in someone.say("我的企业")
    someone.say("绑定企业")
    assert "已退出" in someone.say("取消")


def test_binding_on_postgresql_and_redis(production_settings: Settings) -> None:
    register(production_settings)
    with running(production_settings) as (url, _), httpx.Client(base_url=url, timeout=15) as client:
        user = Phone(client, production_settings, "o_bind_pg")
        user.say("绑定企业")
        user.say(REGISTERED)
        assert "绑定成功" in user.say("西安莲湖精工机械有限公司")
        assert "资质：未登记" in user.say("我的企业")
