"""The enterprise's side of an appeal in the routing domain: what its appeals await, supplements and answers,
rating comments and reminders, 重办 figures, the progress answer, and 区营商办 changing the category."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import conversation, dispatch, enterprise_replies, lifecycle, progress, rectification, supervision, visits
from routing.awaiting import Awaits, awaiting
from routing.enterprise_replies import Attachment
from routing.lifecycle import Actor, Refused
from routing.models import (
    Action,
    AppealEvent,
    AppealState,
    AppealTimer,
    Audience,
    EnterpriseNotice,
    NoticeEvent,
    Notification,
    RoutingSetting,
    Stage,
    TimeLimit,
)
from tests.routing.support import MONDAY, bring_to, file, local, staff, supervisor

LATER = MONDAY + timedelta(hours=1)


def told(session: Session, appeal_id: int) -> list[tuple[NoticeEvent, str]]:
    statement = select(EnterpriseNotice).where(EnterpriseNotice.appeal_id == appeal_id).order_by(EnterpriseNotice.id)
    return [(row.event, row.text) for row in session.scalars(statement)]


def test_what_appeals_await_and_when_each_wait_ends(session: Session) -> None:
    lead = staff(session, "区审批局")
    assert awaiting(session=session, openid="o_enterprise", now=LATER) == []
    suspended = bring_to(session, "handling")
    lifecycle.suspend(session=session, appeal_id=suspended.id, actor=lead, reason="请补充租赁合同", now=LATER)
    [wait] = awaiting(session=session, openid="o_enterprise", now=LATER)
    assert (wait.kind, wait.reference, wait.unit, wait.what, wait.count) == (
        Awaits.SUPPLEMENT,
        suspended.reference,
        "区审批局",
        "请补充租赁合同",
        0,
    )
    asked = wait.key
    conversation.send_message(session=session, appeal_id=bring_to(session, "signed").id, actor=lead, text="您好")
    assert len(awaiting(session=session, openid="o_enterprise", now=LATER)) == 1  # no question mark: not a question
    question = bring_to(session, "signed")
    later = LATER + timedelta(minutes=5)
    conversation.send_message(session=session, appeal_id=question.id, actor=lead, text="哪天去的窗口？", now=later)
    kinds = [(item.kind, item.appeal_id) for item in awaiting(session=session, openid="o_enterprise", now=later)]
    assert kinds == [(Awaits.QUESTION, question.id), (Awaits.SUPPLEMENT, suspended.id)]  # the most recent first
    late = awaiting(session=session, openid="o_enterprise", now=later + timedelta(hours=49))
    assert [item.kind for item in late] == [Awaits.SUPPLEMENT]  # a question is waited on for 48 hours
    attachment = Attachment("text", "11月24日")
    enterprise_replies.answer_staff(
        session=session, appeal_id=question.id, openid="o_enterprise", attachment=attachment, now=later
    )
    [left] = awaiting(session=session, openid="o_enterprise", now=later)
    assert left.kind == Awaits.SUPPLEMENT and left.key == asked
    lifecycle.resume(session=session, appeal_id=suspended.id, actor=lead, now=later)
    lifecycle.suspend(session=session, appeal_id=suspended.id, actor=lead, reason="请补充营业执照", now=later)
    [again] = awaiting(session=session, openid="o_enterprise", now=later)
    assert again.key != asked  # a new request is waited on anew, even by an enterprise that set the old one aside


def test_supplements_are_logged_the_unit_told_once_and_others_refused(session: Session) -> None:
    lead = staff(session, "区审批局")
    appeal = bring_to(session, "handling")
    lifecycle.suspend(session=session, appeal_id=appeal.id, actor=lead, reason="请补充租赁合同", now=LATER)
    image = Attachment("image", "图片", "http://mmbiz.qpic.cn/contract.jpg")
    first = enterprise_replies.supplement(
        session=session, appeal_id=appeal.id, openid="o_enterprise", attachment=image, now=LATER
    )
    second = enterprise_replies.supplement(
        session=session, appeal_id=appeal.id, openid="o_enterprise", attachment=Attachment("text", "共两页"), now=LATER
    )
    assert (first.count, second.count, second.asked, second.resumed) == (1, 2, "请补充租赁合同", False)
    assert appeal.state == AppealState.SUSPENDED
    events = session.scalars(select(AppealEvent).where(AppealEvent.action == Action.SUPPLEMENT)).all()
    assert [(event.actor, event.data["kind"], event.data["url"]) for event in events] == [
        ("o_enterprise", "image", "http://mmbiz.qpic.cn/contract.jpg"),
        ("o_enterprise", "text", None),
    ]
    [notice] = session.scalars(select(Notification)).all()
    assert (notice.audience, notice.unit_id, notice.released_at) == (Audience.STAFF, appeal.unit_id, LATER)
    with pytest.raises(Refused, match="只能补充自己提交的诉求"):
        enterprise_replies.supplement(
            session=session, appeal_id=appeal.id, openid="o_other", attachment=Attachment("text", "x"), now=LATER
        )
    lifecycle.resume(session=session, appeal_id=appeal.id, actor=lead, now=LATER)
    with pytest.raises(Refused, match="不能企业补充材料"):
        enterprise_replies.supplement(
            session=session, appeal_id=appeal.id, openid="o_enterprise", attachment=Attachment("text", "x"), now=LATER
        )
    assert told(session, appeal.id)[-1][0] == NoticeEvent.RESUMED


def test_supplements_resume_by_themselves_when_the_table_says_so(session: Session) -> None:
    session.merge(RoutingSetting(key="resume_on_supplement", value=True))
    lead = staff(session, "区审批局")
    appeal = bring_to(session, "handling")
    lifecycle.suspend(session=session, appeal_id=appeal.id, actor=lead, reason="请补充租赁合同", now=LATER)
    done = enterprise_replies.supplement(
        session=session, appeal_id=appeal.id, openid="o_enterprise", attachment=Attachment("text", "见附件"), now=LATER
    )
    assert done.resumed and appeal.state == AppealState.HANDLING
    reply = session.scalars(select(AppealTimer).where(AppealTimer.stage == Stage.REPLY)).one()
    assert reply.suspended_at is None and reply.next_fire_at is not None
    assert told(session, appeal.id)[-1][0] == NoticeEvent.SUSPENDED  # told in the chat, not twice


def test_a_milestone_reply_confirms_or_objects(session: Session) -> None:
    lead = staff(session, "区审批局")
    appeal = bring_to(session, "handling")
    rectification.file_plan(
        session=session, appeal_id=appeal.id, actor=lead, milestones=[("整改", date(2026, 12, 15))], now=LATER
    )
    rectification.report_milestone(session=session, appeal_id=appeal.id, actor=lead, position=1, progress="已完成")
    assert "如确认这一项已经完成，请回复“确认”" in told(session, appeal.id)[-1][1]
    [wait] = awaiting(session=session, openid="o_enterprise", now=LATER)
    assert (wait.kind, wait.position) == (Awaits.MILESTONE, 1)
    milestone = enterprise_replies.milestone_reply(
        session=session, appeal_id=appeal.id, openid="o_enterprise", position=1, confirmed=True, text="确认", now=LATER
    )
    assert milestone.confirmed_at == LATER
    assert awaiting(session=session, openid="o_enterprise", now=LATER) == []


def test_rating_comments_reopenings_reminders_and_phone_visits(session: Session) -> None:
    appeal = bring_to(session, "answered")
    enterprise = Actor.enterprise(appeal.openid)
    answered = appeal.answered_at
    assert answered is not None
    lifecycle.visit(
        session=session, appeal_id=appeal.id, actor=enterprise, rating="不满意", reason_code="D03", comment=" 没到账 "
    )
    assert (appeal.state, appeal.reopens, appeal.rating_comment) == (AppealState.HANDLING, 1, "没到账")
    figures = supervision.ratings(session=session)
    assert (figures.dissatisfied, figures.reopened) == (1, 1)
    view = supervision.overview(session=session, now=LATER)
    assert [item.reference for item in view.reopened] == [appeal.reference] and view.reopened[0].reopens == 1
    lead = staff(session, "区审批局")
    lifecycle.answer(session=session, appeal_id=appeal.id, actor=lead, text="已到账", now=LATER)
    # Not rated: asked again once after rating_reminder_hours (24), then it waits for a phone 回访.
    assert visits.remind_unrated(session=session, now=LATER + timedelta(hours=23)) == 0
    assert visits.remind_unrated(session=session, now=LATER + timedelta(hours=25)) == 1
    assert visits.remind_unrated(session=session, now=LATER + timedelta(hours=60)) == 0
    event, text = told(session, appeal.id)[-1]
    assert event == NoticeEvent.RATING_REMINDER and "还没有收到您的评价" in text
    assert visits.awaiting_phone_visit(session=session, now=LATER + timedelta(hours=48)) == []
    assert visits.awaiting_phone_visit(session=session, now=LATER + timedelta(hours=50)) == [appeal.id]
    assert supervision.overview(session=session, now=LATER + timedelta(hours=50)).phone_visits[0].id == appeal.id
    lifecycle.visit(session=session, appeal_id=appeal.id, actor=supervisor(session), rating="基本满意", note="电话回访")
    assert supervision.ratings(session=session).reopened == 0
    assert visits.awaiting_phone_visit(session=session, now=LATER + timedelta(hours=50)) == []


def test_progress_names_the_last_step_and_the_answer_date(session: Session) -> None:
    appeal = file(session)
    lead = staff(session, "区审批局")
    assert progress.progress(session=session, openid="o_enterprise", reference=None) == (
        f"{appeal.reference}（准入不准营）\n状态：待签收　承办单位：区审批局\n"
        "已于 11月23日 受理并派给区审批局，等待签收；答复期限 12月2日 18:00"
    )
    lifecycle.sign(session=session, appeal_id=appeal.id, actor=lead, now=local(2026, 11, 24, 9, 30))
    lifecycle.contact(session=session, appeal_id=appeal.id, actor=lead, now=local(2026, 11, 24, 10))
    asked_at = local(2026, 11, 25, 9)
    lifecycle.suspend(session=session, appeal_id=appeal.id, actor=lead, reason="请补充租赁合同", now=asked_at)
    assert progress.progress(session=session, openid="o_enterprise", reference=appeal.reference).endswith(
        "区审批局于 11月25日 请您补充：请补充租赁合同；等待您补充期间暂停计时"
    )
    assert progress.progress(session=session, openid="o_other", reference=appeal.reference).startswith("没有找到")


def test_the_category_changes_with_its_limits_logged_and_told(session: Session) -> None:
    session.add(TimeLimit(category_code="C08", urgency="normal", stage=Stage.REPLY, amount=15, unit="d"))
    appeal = bring_to(session, "signed")
    reply = session.scalars(
        select(AppealTimer).where(AppealTimer.appeal_id == appeal.id, AppealTimer.stage == Stage.REPLY)
    ).one()
    before, boss = reply.due_at, supervisor(session)
    with pytest.raises(Refused, match="只有区营商办可以调整类别"):
        dispatch.recategorize(
            session=session, appeal_id=appeal.id, actor=staff(session, "区审批局"), category="C08", reason="x"
        )
    with pytest.raises(Refused, match="路由表中没有类别「C99」"):
        dispatch.recategorize(session=session, appeal_id=appeal.id, actor=boss, category="C99", reason="x")
    dispatch.recategorize(
        session=session, appeal_id=appeal.id, actor=boss, category="C08", reason="属于循环证明", now=LATER
    )
    assert reply.amount == 15 and reply.due_at > before
    assert appeal.co_units == ["区审批局"]  # C08's co-responsible units
    event = session.scalars(
        select(AppealEvent).where(AppealEvent.appeal_id == appeal.id).order_by(AppealEvent.id.desc())
    ).first()
    assert event is not None and event.action == Action.RECATEGORIZE
    assert (event.data["previous"], event.data["category"], event.reason) == ("C06", "C08", "属于循环证明")
    assert event.data["limits"] == [{"stage": "答复", "from": "7 个工作日", "to": "15 个工作日"}]
    expected = f"您反映的诉求（编号 {appeal.reference}）已调整为“奇葩证明、循环证明”类办理"
    assert told(session, appeal.id)[-1][1].startswith(expected)
    with pytest.raises(Refused, match="已属于"):
        dispatch.recategorize(session=session, appeal_id=appeal.id, actor=boss, category="C08", reason="x")
