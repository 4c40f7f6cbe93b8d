"""Filing an appeal in the chat: one question at a time, kept across a restart, confirmed, then followed up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from bot.chat.appeals import AppealChat
from bot.platform import db
from bot.services import build_matcher
from intents.matcher import Matcher
from routing import conversation, lifecycle
from routing.lifecycle import Actor
from routing.models import Appeal, AppealDraft, AppealTimer, Unit
from tests.support.databases import Templates

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, tzinfo=ZONE).astimezone(UTC)  # a Monday morning


@pytest.fixture(scope="module")
def matcher(templates: Templates, tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    engine = db.make_engine(templates.sqlite(tmp_path_factory.mktemp("filing") / "matcher.db", "demo"))
    matcher = build_matcher(engine, timezone="Asia/Shanghai")
    engine.dispose()
    return matcher


class Chat:
    """One enterprise talking to the filing conversation, as the dialogue will call it."""

    def __init__(self, url: str, matcher: Matcher, openid: str = "o_enterprise") -> None:
        self.url, self.matcher, self.openid = url, matcher, openid
        self.engine = db.make_async_engine(url)
        self.filing = AppealChat(engine=self.engine)
        self.now = NOW

    async def say(self, text: str) -> str | None:
        self.now += timedelta(minutes=1)
        result = self.matcher.match(text)
        return await self.filing.handle(openid=self.openid, text=text, result=result, now=self.now)

    async def restart(self) -> None:
        """A new server process: nothing survives but the database."""
        await self.engine.dispose()
        self.engine = db.make_async_engine(self.url)
        self.filing = AppealChat(engine=self.engine)

    def sync(self) -> Engine:
        return db.make_engine(self.url)


@pytest.fixture
async def chat(templates: Templates, matcher: Matcher, tmp_path: Path) -> AsyncIterator[Chat]:
    talk = Chat(templates.sqlite(tmp_path / "chat.db", "demo"), matcher)
    yield talk
    await talk.engine.dispose()


def appeals(chat: Chat) -> list[Appeal]:
    engine = chat.sync()
    with db.session_factory(engine)() as session:
        found = list(session.scalars(select(Appeal).order_by(Appeal.id)))
    engine.dispose()
    return found


async def test_one_question_at_a_time_then_the_reference_and_the_date(chat: Chat) -> None:
    first = await chat.say("我们公司在北院门，政府拖欠我们的工程款两年了，一直没人管")
    assert first is not None
    assert "政府失信和拖欠企业账款" in first and "牵头办理单位：区工信交通局" in first
    assert "已记下：街道 北院门" in first
    assert first.endswith("请问企业全称是？")
    assert await chat.say("西安某某建设有限公司") == "请问联系人怎么称呼？"
    assert await chat.say("张经理") == "请留一个联系电话（手机或带区号的座机）。"
    assert (await chat.say("1380000")).startswith("电话号码好像不对")  # type: ignore[union-attr]
    summary = await chat.say("138 0000 0000")
    assert summary is not None and summary.startswith("请核对以下信息：")
    assert "企业：西安某某建设有限公司" in summary and "电话：13800000000" in summary and "所在街道：北院门" in summary
    assert await chat.say("嗯") == "请回复“确认”提交，“修改”重新填写，或“取消”放弃。"
    done = await chat.say("确认")
    assert done == (
        "已受理！诉求编号：LH-20261123-0001\n承办单位：区工信交通局\n"
        "答复期限：2026年12月2日（周三）18:00前（7 个工作日）\n"
        "承办单位会尽快与您联系。回复“进度”或诉求编号可随时查询。"
    )
    [appeal] = appeals(chat)
    assert (appeal.state, appeal.enterprise, appeal.contact) == ("dispatched", "西安某某建设有限公司", "张经理")
    assert appeal.co_units == ["北院门街道办事处"]  # the street office of the enterprise's street
    assert appeal.description == "我们公司在北院门，政府拖欠我们的工程款两年了，一直没人管"


async def test_the_draft_survives_a_server_restart(chat: Chat) -> None:
    await chat.say("营业执照拿到了，但是消防那边一直不给开业，准入不准营")
    await chat.say("西安某某餐饮有限公司")
    await chat.restart()
    assert await chat.say("王女士") == "请留一个联系电话（手机或带区号的座机）。"
    assert (await chat.say("029-87296123") or "").startswith("企业位于哪个街道？可回复：北院门、青年路")
    assert (await chat.say("不清楚") or "").startswith("请核对以下信息：")
    await chat.restart()
    assert (await chat.say("确认") or "").startswith("已受理！诉求编号：LH-20261123-0001")
    assert appeals(chat)[0].phone == "029-87296123"


async def test_what_the_first_message_says_is_not_asked_again(chat: Chat) -> None:
    reply = await chat.say("我是李四，西安某某科技有限公司的，电话13912345678，办事窗口让我开奇葩证明，循环证明")
    assert reply is not None
    assert "已记下：电话 13912345678；企业 西安某某科技有限公司；联系人 李四" in reply
    assert reply.endswith("不清楚请回复“不清楚”。")  # straight to the street


async def test_words_that_only_look_like_a_name_are_not_taken_for_one(chat: Chat) -> None:
    reply = await chat.say("政府拖欠我们公司的工程款两年了，一直没人管")
    assert reply is not None and "已记下" not in reply and reply.endswith("请问企业全称是？")


async def test_confirm_typed_too_early_is_not_taken_for_an_answer(chat: Chat) -> None:
    await chat.say("招商的时候答应的条件都没兑现，签约项目落不了地")
    assert await chat.say("确认") == "还差一项信息。请问企业全称是？"
    for answer in ("西安某某投资有限公司", "赵总", "13800000000", "土门"):
        await chat.say(answer)
    assert await chat.say("好的") == "还差一项信息。问题发生在哪里？请说明项目或具体地址。"
    assert (await chat.say("大兴新区某某产业园 3 号地块") or "").startswith("请核对以下信息：")


async def test_cancel_edit_and_expiry(chat: Chat) -> None:
    await chat.say("拖欠我们的货款一年了，政府一直不给")
    assert await chat.say("取消") == "已取消本次登记。如需反映问题，随时告诉我。"
    assert await chat.say("西安某某建设有限公司") is None  # no draft any more: the dialogue answers
    await chat.say("拖欠我们的货款一年了，政府一直不给")
    for answer in ("西安某某建设有限公司", "张三", "13800000000", "北关"):
        await chat.say(answer)
    assert await chat.say("修改") == "好的，请重新填写。请问企业全称是？"
    chat.now += timedelta(days=2)  # silent for two days: the draft is dropped
    assert await chat.say("西安另一家有限公司") is None


async def test_the_place_is_asked_when_the_category_needs_it(chat: Chat) -> None:
    await chat.say("招商的时候答应的条件都没兑现，签约项目落不了地")
    for answer in ("西安某某投资有限公司", "赵总", "13800000000"):
        await chat.say(answer)
    assert await chat.say("土门") == "问题发生在哪里？请说明项目或具体地址。"
    assert (await chat.say("大兴新区某某产业园 3 号地块") or "").startswith("请核对以下信息：")


async def test_progress_shows_state_unit_and_next_deadline_of_ones_own_appeals(chat: Chat) -> None:
    assert await chat.say("进度") == "您目前没有在办的诉求。如需反映问题，请直接描述您遇到的情况。"
    await chat.say("政府拖欠我们的工程款两年了")
    for answer in ("西安某某建设有限公司", "张三", "13800000000", "不清楚", "确认"):
        await chat.say(answer)
    progress = await chat.say("进度")
    assert progress == (
        "LH-20261123-0001（政府失信和拖欠企业账款）\n状态：待签收\n承办单位：区工信交通局\n"
        "下一期限：签收 2026年11月23日（周一）14:07"  # 2 working hours, lunch excluded
    )
    by_reference = await chat.say("LH-20261123-0001 办得怎么样了")
    assert by_reference == progress
    other = Chat(chat.url, chat.matcher, openid="o_someone_else")
    assert await other.say("LH-20261123-0001 办得怎么样了") == (
        "没有找到您提交的编号为 LH-20261123-0001 的诉求，请核对编号。"
    )
    await other.engine.dispose()


async def test_rating_the_answer_in_the_chat(chat: Chat) -> None:
    await chat.say("政府拖欠我们的工程款两年了")
    for answer in ("西安某某建设有限公司", "张三", "13800000000", "不清楚", "确认"):
        await chat.say(answer)
    engine = chat.sync()
    with db.transaction(db.session_factory(engine)) as session:
        unit_id = session.scalars(select(Unit.id).where(Unit.name == "区工信交通局")).one()
        lead = Actor("staff", "li", unit_id)
        appeal_id = session.scalars(select(Appeal.id)).one()
        for step in (lifecycle.sign, lifecycle.contact):
            step(session=session, appeal_id=appeal_id, actor=lead, now=chat.now)
        lifecycle.answer(session=session, appeal_id=appeal_id, actor=lead, text="已协调财政，下月付清", now=chat.now)
    reasons = await chat.say("不满意")
    assert reasons is not None
    assert reasons.startswith("很抱歉让您不满意。请回复序号告诉我们原因：\n1. 承办单位没有联系我")
    assert await chat.say("9") == "请回复 1 到 6 之间的序号，或回复“取消”。"
    assert await chat.say("3") == "已收到。诉求 LH-20261123-0001 已重新交由区工信交通局办理，办理后会再次答复您。"
    with db.transaction(db.session_factory(engine)) as session:
        assert session.scalars(select(Appeal.state)).one() == "handling"
        assert session.scalar(select(AppealDraft)) is None
        lifecycle.answer(session=session, appeal_id=appeal_id, actor=lead, text="已付清", now=chat.now)
    assert await chat.say("满意") == "感谢您的评价（满意）！诉求 LH-20261123-0001 已办结。"
    assert appeals(chat)[0].state == "closed"
    engine.dispose()


async def test_messages_that_are_not_about_appeals_are_left_to_the_dialogue(chat: Chat) -> None:
    for text in ("稳岗返还怎么申请", "我要反映", "你好", "满意"):
        assert await chat.say(text) is None, text


async def test_urgent_words_shorten_the_limits(chat: Chat) -> None:
    await chat.say("供电公司突然断电，工厂马上停产了，十万火急")  # 要素保障: the place is asked too
    for answer in ("西安某某制造有限公司", "张三", "13800000000", "不清楚", "桃园路某某工业园 5 号厂房"):
        await chat.say(answer)
    await chat.say("确认")
    engine = chat.sync()
    with db.session_factory(engine)() as session:
        appeal = session.scalars(select(Appeal)).one()
        sign = session.scalars(select(AppealTimer).where(AppealTimer.stage == "sign")).one()
    engine.dispose()
    assert appeal.urgency == "urgent" and (sign.amount, sign.unit) == (1, "h")


async def test_an_answer_to_staff_who_wrote_lately_is_acknowledged_for_them(chat: Chat) -> None:
    await chat.say("政府拖欠我们的工程款两年了")
    for answer in ("西安某某建设有限公司", "张三", "13800000000", "不清楚", "确认"):
        await chat.say(answer)
    assert await chat.say("明天上午都在") is None  # nobody has written to the enterprise yet
    engine = chat.sync()
    with db.transaction(db.session_factory(engine)) as session:
        unit_id = session.scalars(select(Unit.id).where(Unit.name == "区工信交通局")).one()
        appeal_id = session.scalars(select(Appeal.id)).one()
        lifecycle.sign(session=session, appeal_id=appeal_id, actor=Actor("staff", "li", unit_id), now=chat.now)
        conversation.send_message(
            session=session,
            appeal_id=appeal_id,
            actor=Actor("staff", "li", unit_id),
            text="请问什么时间方便接电话？",
            now=chat.now,
        )
    engine.dispose()
    assert await chat.say("明天上午都在") == (
        "已收到，您的留言已转给区工信交通局（诉求 LH-20261123-0001），工作人员会尽快回复您。"
    )
    assert await chat.say("稳岗返还怎么申请") is None  # a policy question is still the bot's
    chat.now += timedelta(hours=49)
    assert await chat.say("还在吗") is None
