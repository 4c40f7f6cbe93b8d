"""Filing an appeal in the chat: one question at a time, kept across a restart, confirmed, then followed up.

Through the real Dialogue (the router first, then the matcher), on a SQLite copy of a prepared database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.models import Attached
from intents.matcher import Matcher
from routing import conversation, lifecycle
from routing.models import Appeal, AppealDraft, AppealTimer
from tests.bot.chat.talk import Talk, copy, template


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Matcher]:
    return template(tmp_path_factory.mktemp("filing"))


@pytest.fixture
async def chat(prepared: tuple[Path, Matcher], tmp_path: Path) -> AsyncIterator[Talk]:
    talk = Talk(copy(prepared[0], tmp_path), prepared[1])
    yield talk
    await talk.close()


def appeals(chat: Talk) -> list[Appeal]:
    return chat.appeals()


async def test_one_question_at_a_time_then_the_reference_and_the_date(chat: Talk) -> None:
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
    assert await chat.say("嗯") == "请回复“确认”提交，“修改”修改其中一项，或“取消”放弃。"
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


async def test_the_draft_survives_a_server_restart(chat: Talk) -> None:
    await chat.say("营业执照拿到了，但是消防那边一直不给开业，准入不准营")
    await chat.say("西安某某餐饮有限公司")
    await chat.restart()
    assert await chat.say("王女士") == "请留一个联系电话（手机或带区号的座机）。"
    assert (await chat.say("029-87296123") or "").startswith("企业位于哪个街道？可回复：北院门、青年路")
    assert (await chat.say("不清楚") or "").startswith("请核对以下信息：")
    await chat.restart()
    assert (await chat.say("确认") or "").startswith("已受理！诉求编号：LH-20261123-0001")
    assert appeals(chat)[0].phone == "029-87296123"


async def test_what_the_first_message_says_is_not_asked_again(chat: Talk) -> None:
    reply = await chat.say("我是李四，西安某某科技有限公司的，电话13912345678，办事窗口让我开奇葩证明，循环证明")
    assert reply is not None
    assert "已记下：电话 13912345678；企业 西安某某科技有限公司；联系人 李四" in reply
    assert reply.endswith("不清楚请回复“不清楚”。")  # straight to the street


async def test_words_that_only_look_like_a_name_are_not_taken_for_one(chat: Talk) -> None:
    reply = await chat.say("政府拖欠我们公司的工程款两年了，一直没人管")
    assert reply is not None and "已记下" not in reply and reply.endswith("请问企业全称是？")


async def test_confirm_typed_too_early_is_not_taken_for_an_answer(chat: Talk) -> None:
    await chat.say("招商的时候答应的条件都没兑现，签约项目落不了地")
    assert await chat.say("确认") == "还差一项信息。请问企业全称是？"
    for answer in ("西安某某投资有限公司", "赵总", "13800000000", "土门"):
        await chat.say(answer)
    assert await chat.say("好的") == "还差一项信息。问题发生在哪里？请说明项目或具体地址。"
    assert (await chat.say("大兴新区某某产业园 3 号地块") or "").startswith("请核对以下信息：")


async def test_cancel_edit_one_field_and_expiry(chat: Talk) -> None:
    await chat.say("拖欠我们的货款一年了，政府一直不给")
    assert await chat.say("取消") == "已取消本次登记。如需反映问题，随时告诉我。"
    # No draft any more: the dialogue answers (a greeting, not the next question of the draft).
    assert "企业" not in (await chat.say("西安某某建设有限公司") or "企业")
    await chat.say("拖欠我们的货款一年了，政府一直不给")
    for answer in ("西安某某建设有限公司", "张三", "13800000000", "北关"):
        await chat.say(answer)
    which = await chat.say("修改")
    assert which == (
        "请问要修改哪一项？回复序号：\n1. 企业名称（现为：西安某某建设有限公司）\n2. 联系人（现为：张三）\n"
        "3. 电话（现为：13800000000）\n4. 所在街道（现为：北关）"
    )
    assert await chat.say("2") == "请问联系人怎么称呼？"
    changed = await chat.say("李四")
    assert changed is not None and changed.startswith("已修改。请核对以下信息：")
    assert "联系人：李四　电话：13800000000" in changed and "企业：西安某某建设有限公司" in changed
    assert (await chat.say("改电话")) == "请留一个联系电话（手机或带区号的座机）。"  # a field named at once
    assert "电话：13900000000" in (await chat.say("13900000000") or "")
    chat.now += timedelta(days=2)  # silent for two days: the draft is dropped
    assert "请核对" not in (await chat.say("确认") or "")
    assert appeals(chat) == []


async def test_each_answer_is_checked_for_what_it_is(chat: Talk) -> None:
    await chat.say("拖欠我们的货款一年了，政府一直不给")
    assert await chat.say("13912345678") == "这看起来是电话号码，不是企业名称。请问企业全称是？"
    assert await chat.say("王经理") == "这看起来是联系人的称呼，不是企业名称。请问企业全称是？"
    assert await chat.say("西安启明软件有限公司") == "请问联系人怎么称呼？"
    assert await chat.say("13912345678") == "这看起来是电话号码，不是联系人的称呼。请问联系人怎么称呼？"
    assert await chat.say("西安启明软件有限公司") == "这看起来是企业名称，不是联系人的称呼。请问联系人怎么称呼？"
    # A name with the phone after it: both are taken, and the phone is not asked.
    assert (await chat.say("王强 139 1234 5678") or "").startswith("企业位于哪个街道？")
    assert (await chat.say("北院门") or "").startswith("请核对以下信息：")
    draft = chat.run(lambda session: session.scalars(select(AppealDraft)).one().data)
    assert (draft["contact"], draft["phone"]) == ("王强", "13912345678")


async def test_a_second_appeal_offers_last_times_details_and_one_reply_files_it(chat: Talk) -> None:
    await chat.say("政府拖欠我们的工程款两年了，一直没人管")
    for answer in ("西安启明软件有限公司", "王强", "13912345678", "北院门", "确认"):
        await chat.say(answer)
    offer = await chat.say("窗口工作人员态度很差，让我来回跑了三趟")
    assert offer == (
        "您反映的问题属于“窗口服务作风和效能问题”，牵头办理单位：区审批局。\n"
        "沿用上次的信息：西安启明软件有限公司 / 王强 / 139****5678（所在街道：北院门）？"
        "回复 1 沿用，2 修改；回复“取消”放弃。"
    )
    done = await chat.say("1")
    assert done is not None and done.startswith("已受理！诉求编号：LH-20261123-0002\n承办单位：区审批局")
    second = appeals(chat)[1]
    assert (second.enterprise, second.contact, second.phone, second.street) == (
        "西安启明软件有限公司", "王强", "13912345678", "北院门"
    )  # fmt: skip
    # "2 修改" changes one field only; the message that started it and the answers are linked to the appeal.
    await chat.say("网上办事平台登不上，提交不了材料")
    which = await chat.say("2")
    assert (which or "").startswith("请问要修改哪一项？回复序号：\n1. 企业名称（现为：西安启明软件有限公司）")
    assert await chat.say("3") == "请留一个联系电话（手机或带区号的座机）。"
    assert "电话：029-87296123" in (await chat.say("029-87296123") or "")
    assert (await chat.say("确认") or "").startswith("已受理！诉求编号：LH-20261123-0003")
    third = appeals(chat)[2]
    assert (third.contact, third.phone) == ("王强", "029-87296123")
    links = chat.links()[-5:]
    assert [(attached, appeal) for _, attached, appeal, _ in links] == [(Attached.DRAFT, third.id)] * 5


async def test_the_place_is_asked_when_the_category_needs_it(chat: Talk) -> None:
    await chat.say("招商的时候答应的条件都没兑现，签约项目落不了地")
    for answer in ("西安某某投资有限公司", "赵总", "13800000000"):
        await chat.say(answer)
    assert await chat.say("土门") == "问题发生在哪里？请说明项目或具体地址。"
    assert (await chat.say("大兴新区某某产业园 3 号地块") or "").startswith("请核对以下信息：")


async def test_progress_shows_state_unit_the_answer_date_and_the_last_step(chat: Talk) -> None:
    assert await chat.say("进度") == "您目前没有在办的诉求。如需反映问题，请直接描述您遇到的情况。"
    await chat.say("政府拖欠我们的工程款两年了")
    for answer in ("西安某某建设有限公司", "张三", "13800000000", "不清楚", "确认"):
        await chat.say(answer)
    progress = await chat.say("进度")
    assert progress == (
        "LH-20261123-0001（政府失信和拖欠企业账款）\n状态：待签收　承办单位：区工信交通局\n"
        "已于 11月23日 受理并派给区工信交通局，等待签收；答复期限 12月2日 18:00"  # not the 签收 deadline
    )
    chat.now += timedelta(days=1)
    chat.staff(lifecycle.sign, "LH-20261123-0001")
    by_reference = await chat.say("LH-20261123-0001 办得怎么样了")
    assert by_reference == (
        "LH-20261123-0001（政府失信和拖欠企业账款）\n状态：已签收　承办单位：区工信交通局\n"
        "区工信交通局已于 11月24日 签收，正在办理；答复期限 12月2日 18:00"
    )
    other = chat.other("o_someone_else")
    assert await other.say("LH-20261123-0001 办得怎么样了") == (
        "没有找到您提交的编号为 LH-20261123-0001 的诉求，请核对编号。"
    )
    await other.close()


async def test_rating_the_answer_in_the_chat(chat: Talk) -> None:
    await chat.say("政府拖欠我们的工程款两年了")
    for answer in ("西安某某建设有限公司", "张三", "13800000000", "不清楚", "确认"):
        await chat.say(answer)
    for step in (lifecycle.sign, lifecycle.contact):
        chat.staff(step, "LH-20261123-0001")
    chat.staff(lifecycle.answer, "LH-20261123-0001", text="已协调财政，下月付清")
    reasons = await chat.say("不满意，钱还没到账")
    assert reasons is not None
    assert reasons.startswith("很抱歉让您不满意。您的意见已记下。请回复序号告诉我们原因：\n1. 承办单位没有联系我")
    assert await chat.say("9") == "请回复 1 到 6 之间的序号，或回复“取消”。"
    assert await chat.say("3") == "已收到。诉求 LH-20261123-0001 已重新交由区工信交通局办理，办理后会再次答复您。"
    [appeal] = appeals(chat)
    assert (appeal.state, appeal.reopens, appeal.rating_comment) == ("handling", 1, "钱还没到账")
    assert chat.run(lambda session: session.scalar(select(AppealDraft))) is None
    chat.staff(lifecycle.answer, "LH-20261123-0001", text="已付清")
    assert await chat.say("基本满意，问题解决了，但之前白跑了两趟") == (
        "感谢您的评价（基本满意）！诉求 LH-20261123-0001 已办结。\n"
        "您的意见已转给区工信交通局：“问题解决了，但之前白跑了两趟”"
    )
    [appeal] = appeals(chat)
    comment = "问题解决了，但之前白跑了两趟"
    assert (appeal.state, appeal.rating, appeal.rating_comment) == ("closed", "基本满意", comment)
    assert chat.links()[-1][1:3] == (Attached.RATING, appeal.id)


async def test_messages_that_are_not_about_appeals_are_left_to_the_dialogue(chat: Talk) -> None:
    for text in ("稳岗返还怎么申请", "我要反映", "你好", "满意"):
        await chat.say(text)
    assert appeals(chat) == [] and chat.run(lambda session: session.scalar(select(AppealDraft))) is None
    assert {attached for _, attached, _, _ in chat.links()} == {None}


async def test_urgent_words_shorten_the_limits(chat: Talk) -> None:
    await chat.say("供电公司突然断电，工厂马上停产了，十万火急")  # 要素保障: the place is asked too
    for answer in ("西安某某制造有限公司", "张三", "13800000000", "不清楚", "桃园路某某工业园 5 号厂房"):
        await chat.say(answer)
    await chat.say("确认")
    [appeal] = appeals(chat)
    sign = chat.run(lambda session: session.scalars(select(AppealTimer).where(AppealTimer.stage == "sign")).one())
    assert appeal.urgency == "urgent" and (sign.amount, sign.unit) == (1, "h")


async def test_an_answer_to_staff_who_wrote_lately_is_acknowledged_for_them(chat: Talk) -> None:
    await chat.say("政府拖欠我们的工程款两年了")
    for answer in ("西安某某建设有限公司", "张三", "13800000000", "不清楚", "确认"):
        await chat.say(answer)
    assert "区工信交通局" not in (await chat.say("明天上午都在") or "")  # nobody has written to the enterprise yet
    chat.staff(lifecycle.sign, "LH-20261123-0001")
    chat.staff(conversation.send_message, "LH-20261123-0001", text="已收到您的诉求，我们正在核实。")
    assert await chat.say("明天上午都在") == (
        "已收到，您的留言已转给区工信交通局（诉求 LH-20261123-0001），工作人员会尽快回复您。"
    )
    [appeal] = appeals(chat)
    assert chat.links()[-1][1:3] == (Attached.ANSWER, appeal.id)
    assert "回复序号" in (await chat.say("稳岗返还怎么申请") or "")  # a policy question is still the bot's
    chat.now += timedelta(hours=49)
    assert "区工信交通局" not in (await chat.say("还在吗") or "")
