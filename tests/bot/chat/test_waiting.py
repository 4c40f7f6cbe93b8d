"""The routing order of a message (bot.chat.waiting): what waits for the enterprise first, then a pending choice,
then a new intent — for every waiting state, with stepping out and back, and two appeals waiting at once.

Through the real Dialogue on a SQLite copy of a prepared database (and, for the two-appeal case, on PostgreSQL
as well); every message is stored as the inbox stores it, so what it was attached to is read back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.chat.models import Attached, Handoff, HandoffState
from bot.platform import db
from bot.platform.settings import Settings
from bot.services import build_matcher, prepare_database
from intents.matcher import Matcher, MatchResult
from intents.records import Intent
from routing import conversation, lifecycle, rectification
from routing.models import Action, Appeal, AppealEvent, AppealState, Audience, Notification, RoutingSetting
from tests.bot.chat.talk import Talk, copy, template

FILED = ("西安启明软件有限公司", "王强", "13912345678", "不清楚", "确认")


class Counting(Matcher):
    """The real matcher, counting how often the dialogue asks it (instrumentation, not a stand-in)."""

    def __init__(self, real: Matcher) -> None:
        self.__dict__.update(real.__dict__)
        self.calls: list[str] = []

    def match(self, text: str, *, intent: Intent | None = None) -> MatchResult:
        self.calls.append(text)
        return super().match(text, intent=intent)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Matcher]:
    return template(tmp_path_factory.mktemp("waiting"))


@pytest.fixture
async def chat(prepared: tuple[Path, Matcher], tmp_path: Path) -> AsyncIterator[Talk]:
    talk = Talk(copy(prepared[0], tmp_path), Counting(prepared[1]))
    yield talk
    await talk.close()


async def file(chat: Talk, text: str = "政府拖欠我们的工程款两年了，一直没人管") -> str:
    """File an appeal in the chat (the first one asks every question, later ones offer last time's details)."""
    reply = await chat.say(text)
    if reply is not None and "沿用上次的信息" in reply:
        reply = await chat.say("1")
    else:
        for answer in FILED:
            reply = await chat.say(answer)
    assert reply is not None and reply.startswith("已受理！诉求编号："), reply
    return reply.split("诉求编号：")[1].split("\n")[0]


def events(chat: Talk, reference: str, action: Action) -> list[AppealEvent]:
    def read(session: Session) -> list[AppealEvent]:
        appeal_id = session.scalars(select(Appeal.id).where(Appeal.reference == reference)).one()
        statement = select(AppealEvent).where(AppealEvent.appeal_id == appeal_id, AppealEvent.action == action)
        return list(session.scalars(statement.order_by(AppealEvent.id)))

    return list(chat.run(read))


def appeal_id(chat: Talk, reference: str) -> int:
    return int(chat.run(lambda session: session.scalars(select(Appeal.id).where(Appeal.reference == reference)).one()))


async def test_a_draft_takes_its_answers_without_the_matcher(chat: Talk) -> None:
    await chat.say("政府拖欠我们的工程款两年了，一直没人管")
    assert isinstance(chat.matcher, Counting)
    asked = len(chat.matcher.calls)
    assert await chat.say("西安启明软件有限公司") == "请问联系人怎么称呼？"
    assert await chat.say("王强") == "请留一个联系电话（手机或带区号的座机）。"
    assert (await chat.say("13912345678") or "").startswith("企业位于哪个街道？")
    assert len(chat.matcher.calls) == asked  # a phone number typed mid-draft is not matched
    # An image sent mid-draft is kept for the appeal and the question repeated.
    reply = await chat.say(kind="image", PicUrl="http://mmbiz.qpic.cn/site.jpg")
    assert reply is not None and reply.startswith("已收到您发送的图片，登记后会附在这件诉求上。\n企业位于哪个街道？")
    # "进度" is answered, with the draft still visible.
    progress = await chat.say("进度")
    assert progress is not None and "· 您有一件诉求正在登记，请继续：企业位于哪个街道？" in progress
    for answer in ("不清楚", "确认"):
        await chat.say(answer)
    [appeal] = chat.appeals()
    kept = [(attached, appeal_to) for _, attached, appeal_to, _ in chat.links()]
    assert kept == [*[(Attached.DRAFT, appeal.id)] * 5, (None, None), *[(Attached.DRAFT, appeal.id)] * 2]


async def test_supplements_while_suspended_go_to_the_appeal_and_the_unit_is_told(chat: Talk) -> None:
    reference = await file(chat)
    chat.staff(lifecycle.sign, reference)
    chat.staff(lifecycle.suspend, reference, reason="请提供工程结算单和催款记录")
    first = await chat.say("补充：第一次11月24日3号窗口，结算单见图")
    assert first == (
        f"已收到您的补充内容，已作为诉求 {reference} 的补充材料转给区工信交通局（本次已补充 1 条）。\n"
        "工作人员确认材料齐全后即恢复办理、继续计时，届时会通知您。还有材料可以继续发送；要咨询其他问题，请回复“新问题”。"
    )
    second = await chat.say(kind="image", PicUrl="http://mmbiz.qpic.cn/settlement.jpg")
    assert second is not None and second.startswith(f"已收到您的图片，已作为诉求 {reference} 的补充材料")
    assert "本次已补充 2 条" in second
    # A policy question while material is asked for is material too, until the enterprise steps out.
    assert "补充材料" in (await chat.say("稳岗返还怎么申请") or "")
    stepped = await chat.say("新问题")
    assert stepped == (
        f"好的，请说您的新问题。\n您的诉求 {reference} 正在等待您补充：请提供工程结算单和催款记录；需要时回复“继续”。"
    )
    listing = await chat.say("稳岗返还怎么申请")
    assert listing is not None and "回复序号" in listing and f"您的诉求 {reference} 正在等待您补充" in listing
    back = await chat.say("继续")
    assert back == (
        f"好的。您的诉求 {reference} 正在等待您补充：请提供工程结算单和催款记录。"
        "请直接发送（文字、图片、语音或文件均可）。"
    )
    assert "本次已补充 4 条" in (await chat.say("催款记录是三次书面函件", kind="voice") or "")
    supplements = events(chat, reference, Action.SUPPLEMENT)
    assert [(event.data["kind"], event.reason) for event in supplements] == [
        ("text", "补充：第一次11月24日3号窗口，结算单见图"),
        ("image", "图片"),
        ("text", "稳岗返还怎么申请"),
        ("voice", "催款记录是三次书面函件"),
    ]
    assert supplements[1].data["url"] == "http://mmbiz.qpic.cn/settlement.jpg"
    notices = chat.run(lambda session: list(session.scalars(select(Notification.text))))
    assert notices == [f"诉求 {reference}（西安启明软件有限公司）的企业已补充材料，请查看；材料齐全后请恢复办理。"]
    links = [(attached, appeal) for _, attached, appeal, _ in chat.links()[-7:]]
    taken = (Attached.SUPPLEMENT, appeal_id(chat, reference))
    assert links == [taken, taken, taken, (None, None), (None, None), (None, None), taken]
    assert chat.appeals()[0].state == AppealState.SUSPENDED  # staff confirm that it suffices


async def test_the_routing_table_can_resume_on_the_first_supplement(chat: Talk) -> None:
    reference = await file(chat)
    chat.run(lambda session: session.merge(RoutingSetting(key="resume_on_supplement", value=True)))
    chat.staff(lifecycle.sign, reference)
    chat.staff(lifecycle.suspend, reference, reason="请提供营业执照副本")
    reply = await chat.say(kind="image", PicUrl="http://mmbiz.qpic.cn/licence.jpg")
    assert reply is not None and reply.endswith("诉求已恢复办理，办理时限继续计算。")
    assert chat.appeals()[0].state == AppealState.SIGNED
    [resumed] = events(chat, reference, Action.RESUME)
    assert resumed.actor == "system"


async def test_ratings_with_comments_variants_and_numbers(chat: Talk) -> None:
    reference = await file(chat)
    for step in (lifecycle.sign, lifecycle.contact):
        chat.staff(step, reference)
    chat.staff(lifecycle.answer, reference, text="已协调财政，下月付清")
    # Not a rating: the wait declines it and the dialogue answers, reminding of the rating.
    listing = await chat.say("稳岗返还怎么申请")
    assert listing is not None and "回复序号" in listing and f"您的诉求 {reference} 已答复，正在等待您的评价" in listing
    # A policy list is pending: "1" opens its first policy, not a rating.
    assert "【" in (await chat.say("1") or "")
    assert chat.appeals()[0].state == AppealState.ANSWERED
    chat.now += timedelta(hours=1)  # the list is forgotten after the dialogue's state expires
    chat.dialogue = chat._dialogue()
    assert await chat.say("👍 谢谢你们") == (
        f"感谢您的评价（满意）！诉求 {reference} 已办结。\n您的意见已转给区工信交通局：“谢谢你们”"
    )
    [visit] = events(chat, reference, Action.VISIT)
    assert (visit.data["rating"], visit.data["comment"]) == ("满意", "谢谢你们")


async def test_a_reported_milestone_waits_for_the_enterprise(chat: Talk) -> None:
    reference = await file(chat)
    for step in (lifecycle.sign, lifecycle.contact):
        chat.staff(step, reference)
    plan = [("协调财政安排资金", date(2026, 12, 15)), ("支付首笔款项", date(2026, 12, 31))]
    chat.staff(rectification.file_plan, reference, milestones=plan)
    chat.staff(rectification.report_milestone, reference, position=1, progress="资金已列入预算")
    assert await chat.say("确认") == f"已确认诉求 {reference} 整改第 1 项「协调财政安排资金」完成，谢谢您的反馈。"
    chat.staff(rectification.report_milestone, reference, position=2, progress="首笔款已支付")
    assert await chat.say("只到账了一半") == (
        f"已将您的意见转给区工信交通局（诉求 {reference} 整改第 2 项「支付首笔款项」），工作人员会尽快回复您。"
    )
    replies = events(chat, reference, Action.CONFIRM_MILESTONE)
    assert [(event.data["position"], event.data["confirmed"], event.reason) for event in replies] == [
        (1, True, "确认"),
        (2, False, "只到账了一半"),
    ]
    assert "资金" not in (await chat.say("你好") or "")  # answered once: the wait is over


async def test_a_question_staff_asked_takes_the_next_message(chat: Talk) -> None:
    reference = await file(chat)
    chat.staff(lifecycle.sign, reference)
    chat.staff(conversation.send_message, reference, text="请问结算单上的金额是多少？")
    assert await chat.say("稳岗返还怎么申请") == (
        f"已收到，您的回复已转给区工信交通局（诉求 {reference}），工作人员会尽快处理。"
    )
    [answer] = events(chat, reference, Action.ENTERPRISE_MESSAGE)
    assert answer.reason == "稳岗返还怎么申请"
    assert "回复序号" in (await chat.say("稳岗返还怎么申请") or "")  # one answer; then the bot's again


async def test_two_appeals_waiting_the_most_recent_wins_and_is_named(chat: Talk) -> None:
    first = await file(chat)
    second = await file(chat, "窗口工作人员态度很差，让我来回跑了三趟")
    chat.staff(lifecycle.sign, first)
    chat.staff(lifecycle.suspend, first, reason="请提供工程结算单")
    chat.now += timedelta(minutes=5)
    chat.staff(lifecycle.sign, second)
    chat.staff(conversation.send_message, second, text="请问是哪一天去的窗口？")
    reply = await chat.say("11月24日上午")
    assert reply == f"已收到，您的回复已转给区审批局（诉求 {second}），工作人员会尽快处理。"
    # The question is answered; the suspension of the first appeal is what waits now.
    assert f"诉求 {first} 的补充材料" in (await chat.say("结算单稍后拍照发来") or "")
    # The same the other way round: material asked for later than the question wins...
    chat.staff(conversation.send_message, second, text="窗口是几号？")
    chat.now += timedelta(minutes=5)
    chat.staff(lifecycle.resume, first)
    chat.staff(lifecycle.suspend, first, reason="请再提供催款函")
    assert f"诉求 {first} 的补充材料" in (await chat.say("催款函在这里") or "")
    # ... unless the message names the other appeal's reference.
    assert f"诉求 {second}）" in (await chat.say(f"{second} 是3号窗口") or "")
    taken = [(attached, appeal) for _, attached, appeal, _ in chat.links()[-4:]]
    first_id, second_id = appeal_id(chat, first), appeal_id(chat, second)
    assert taken == [
        (Attached.ANSWER, second_id),
        (Attached.SUPPLEMENT, first_id),
        (Attached.SUPPLEMENT, first_id),
        (Attached.ANSWER, second_id),
    ]


async def test_a_rating_declines_what_is_not_one_and_the_older_wait_takes_it(chat: Talk) -> None:
    first = await file(chat)
    second = await file(chat, "窗口工作人员态度很差，让我来回跑了三趟")
    chat.staff(lifecycle.sign, first)
    chat.staff(lifecycle.suspend, first, reason="请提供工程结算单")
    chat.now += timedelta(minutes=5)
    for step in (lifecycle.sign, lifecycle.contact):
        chat.staff(step, second)
    chat.staff(lifecycle.answer, second, text="已约谈窗口负责人")
    assert f"诉求 {first} 的补充材料" in (await chat.say("结算单金额 32 万元") or "")
    assert (await chat.say("满意")) == f"感谢您的评价（满意）！诉求 {second} 已办结。"


async def test_a_person_on_request_and_from_the_menu(chat: Talk) -> None:
    reference = await file(chat)
    chat.staff(lifecycle.sign, reference)
    opened = await chat.say("转人工")
    assert opened is not None and opened.startswith("已为您转接人工服务，由区工信交通局的工作人员为您解答。")
    assert "工作时间：工作日 09:00-12:00、14:00-18:00（法定节假日除外）；现在是工作时间" in opened
    assert await chat.say("结算单的事想当面说") == "已收到，已转给工作人员，请稍候。"
    assert (await chat.click("HUMAN") or "").startswith("您正在与区工信交通局的工作人员对话")
    assert (await chat.say("结束人工") or "").startswith("已结束人工服务。")
    [handoff] = chat.run(lambda session: list(session.scalars(select(Handoff))))
    assert (handoff.state, handoff.closed_by) == (HandoffState.CLOSED, "企业")
    assert handoff.appeal_id == appeal_id(chat, reference)
    taken = [(attached, handoff_id) for _, attached, _, handoff_id in chat.links()[-4:]]
    assert taken == [(Attached.HANDOFF, handoff.id)] * 4
    # Outside working hours it says when to expect an answer; with no appeal in hand it goes to 区营商办.
    late = chat.other("o_late")
    late.now = chat.now.replace(hour=13)  # 21:00 in Xi'an
    night = await late.say("人工客服")
    assert night is not None and "由区营商办的工作人员" in night and "现在是非工作时间" in night
    notices = late.run(lambda session: list(session.scalars(select(Notification).order_by(Notification.id))))
    assert notices[-1].audience == Audience.SUPERVISOR and "请求人工服务" in notices[-1].text
    await late.close()


async def test_two_appeals_waiting_on_postgresql(production_settings: Settings, prepared: tuple[Path, Matcher]) -> None:
    engine = db.make_engine(production_settings.database_url)
    prepare_database(engine, load_demo=True)
    matcher = build_matcher(engine, timezone="Asia/Shanghai")
    engine.dispose()
    chat = Talk(production_settings.database_url, matcher)
    try:
        first = await file(chat)
        second = await file(chat, "窗口工作人员态度很差，让我来回跑了三趟")
        chat.staff(lifecycle.sign, first)
        chat.staff(lifecycle.suspend, first, reason="请提供工程结算单")
        chat.now += timedelta(minutes=5)
        chat.staff(lifecycle.sign, second)
        chat.staff(conversation.send_message, second, text="请问是哪一天去的窗口？")
        assert f"诉求 {second}）" in (await chat.say("11月24日上午") or "")
        assert f"诉求 {first} 的补充材料" in (await chat.say(kind="image", PicUrl="http://mmbiz.qpic.cn/a.jpg") or "")
        assert [attached for _, attached, _, _ in chat.links()[-2:]] == [Attached.ANSWER, Attached.SUPPLEMENT]
    finally:
        await chat.close()
