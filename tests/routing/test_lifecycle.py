"""Every transition of the appeal lifecycle, logged (who, when, why), and every illegal one refused clearly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypedDict

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import dispatch, extensions, lifecycle, rectification
from routing.lifecycle import ALLOWED, STATES, Actor, Refused
from routing.models import Action, Appeal, AppealEvent, AppealState, AppealTimer, EnterpriseNotice
from tests.routing.support import MONDAY, bring_to, staff, supervisor

LATER = MONDAY + timedelta(hours=1)


class At(TypedDict):
    """The keyword arguments every action takes: which appeal, in which session, when."""

    session: Session
    appeal_id: int
    now: datetime


class ByActor(At):
    actor: Actor


def actions(session: Session, appeal: Appeal) -> dict[Action, Callable[[], object]]:
    """Each public action with arguments that would be accepted from the right state, by the right actor."""
    lead, boss = staff(session, "区审批局"), supervisor(session)
    at: At = {"session": session, "appeal_id": appeal.id, "now": LATER}
    return {
        Action.SIGN: lambda: lifecycle.sign(actor=lead, **at),
        Action.CONTACT: lambda: lifecycle.contact(actor=lead, **at),
        Action.RETURN: lambda: dispatch.return_appeal(actor=lead, reason_code="R01", **at),
        Action.TRANSFER: lambda: dispatch.transfer(actor=boss, unit="区司法局", reason="应由司法局办理", **at),
        Action.ARBITRATE: lambda: dispatch.arbitrate(actor=boss, unit="区审批局", reason="属审批局职责", **at),
        Action.SUSPEND: lambda: lifecycle.suspend(actor=lead, reason="请补充材料", **at),
        Action.RESUME: lambda: lifecycle.resume(actor=lead, **at),
        Action.REQUEST_EXTENSION: lambda: extensions.request_extension(actor=lead, days=3, reason="需协调", **at),
        Action.DECIDE_EXTENSION: lambda: extensions.decide_extension(actor=boss, approve=True, **at),
        Action.PLAN: lambda: rectification.file_plan(actor=lead, milestones=[("整改", date(2026, 12, 30))], **at),
        Action.REPORT_MILESTONE: lambda: rectification.report_milestone(actor=lead, position=1, progress="完成", **at),
        Action.ANSWER: lambda: lifecycle.answer(actor=lead, text="已办理", **at),
        Action.VISIT: lambda: lifecycle.visit(actor=Actor.enterprise(appeal.openid), rating="满意", **at),
        Action.CLOSE: lambda: lifecycle.close(actor=boss, reason="回访未接通", **at),
    }


OBSERVABLE = [
    AppealState.DISPATCHED,
    AppealState.SIGNED,
    AppealState.HANDLING,
    AppealState.SUSPENDED,
    AppealState.RETURNED,
    AppealState.ARBITRATION,
    AppealState.RECTIFYING,
    AppealState.ANSWERED,
    AppealState.CLOSED,
]


@pytest.mark.parametrize("state", OBSERVABLE)
def test_every_action_not_allowed_from_a_state_is_refused_and_changes_nothing(
    session: Session, state: AppealState
) -> None:
    appeal = bring_to(session, state)
    events = session.scalar(select(AppealEvent.id).order_by(AppealEvent.id.desc()).limit(1))
    refused = []
    for action, run in actions(session, appeal).items():
        if state in ALLOWED[action]:
            continue
        with pytest.raises(Refused) as caught:
            run()
        assert f"当前为「{STATES[state]}」，不能{lifecycle.ACTIONS[action]}" in str(caught.value)
        refused.append(action)
    assert refused, state
    assert appeal.state == state
    assert session.scalar(select(AppealEvent.id).order_by(AppealEvent.id.desc()).limit(1)) == events


def test_the_main_line_logs_who_when_and_why(session: Session) -> None:
    appeal = bring_to(session, "closed")
    events = session.scalars(select(AppealEvent).where(AppealEvent.appeal_id == appeal.id).order_by(AppealEvent.id))
    trail = [(event.action, event.from_state, event.to_state, event.actor_role) for event in events]
    assert trail == [
        ("accept", None, "received", "enterprise"),
        ("dispatch", "received", "dispatched", "system"),
        ("sign", "dispatched", "signed", "staff"),
        ("contact", "signed", "handling", "staff"),
        ("answer", "handling", "answered", "staff"),
        ("visit", "answered", "closed", "enterprise"),
    ]
    answer = session.scalar(select(AppealEvent).where(AppealEvent.action == "answer"))
    assert answer is not None and answer.actor == "li" and answer.reason == "已协调，明天即可开业"
    assert answer.at == MONDAY + timedelta(minutes=30)
    assert appeal.outcome == "solved" and appeal.rating == "满意" and appeal.closed_at is not None


def test_the_clock_starts_at_dispatch_and_steps_meet_their_limits(session: Session) -> None:
    appeal = bring_to(session, "answered")
    timers = {timer.stage: timer for timer in session.scalars(select(AppealTimer))}
    assert {timer.started_at for timer in timers.values()} == {MONDAY}  # 派单, not 签收
    assert all(timer.stop_reason == "met" and timer.next_fire_at is None for timer in timers.values())
    assert appeal.dispatched_at == MONDAY


def test_only_the_handling_unit_may_act(session: Session) -> None:
    appeal = bring_to(session, "dispatched")
    with pytest.raises(Refused, match="由区审批局办理，您所在单位不能签收"):
        lifecycle.sign(session=session, appeal_id=appeal.id, actor=staff(session, "区司法局"), now=LATER)
    with pytest.raises(Refused, match="只有区营商办可以转派"):
        dispatch.transfer(
            session=session,
            appeal_id=appeal.id,
            actor=staff(session, "区审批局"),
            unit="区司法局",
            reason="x",
            now=LATER,
        )


def test_a_return_needs_a_reason_code_from_the_table(session: Session) -> None:
    appeal = bring_to(session, "dispatched")
    lead = staff(session, "区审批局")
    for code in (None, "R99"):
        with pytest.raises(Refused, match="退回须选择退回原因：R01 不属于本单位职责"):
            dispatch.return_appeal(session=session, appeal_id=appeal.id, actor=lead, reason_code=code, now=LATER)
    dispatch.return_appeal(
        session=session, appeal_id=appeal.id, actor=lead, reason_code="R02", reason="属地问题", now=LATER
    )
    assert (appeal.state, appeal.returns) == ("returned", 1)
    event = session.scalars(select(AppealEvent).order_by(AppealEvent.id.desc())).first()
    assert event is not None and (event.reason_code, event.reason) == ("R02", "属地问题")
    assert event.data["returned_by"] == "区审批局"


def test_two_returns_then_the_supervisor_arbitrates_and_its_decision_is_final(session: Session) -> None:
    appeal = bring_to(session, "arbitration")
    assert appeal.returns == 2  # the third return did not count as one: it is a dispute
    with pytest.raises(Refused, match="只有区营商办可以裁定"):
        dispatch.arbitrate(
            session=session,
            appeal_id=appeal.id,
            actor=staff(session, "区审批局"),
            unit="区审批局",
            reason="x",
            now=LATER,
        )
    dispatch.arbitrate(
        session=session,
        appeal_id=appeal.id,
        actor=supervisor(session),
        unit="区审批局",
        reason="经核实属审批局职责",
        now=LATER,
    )
    assert appeal.state == "dispatched" and appeal.final_route
    with pytest.raises(Refused, match="区营商办已裁定由本单位办理，不能再退回"):
        dispatch.return_appeal(
            session=session, appeal_id=appeal.id, actor=staff(session, "区审批局"), reason_code="R01", now=LATER
        )


def test_signed_appeals_cannot_be_returned_but_can_be_transferred(session: Session) -> None:
    appeal = bring_to(session, "handling")
    with pytest.raises(Refused, match="已签收的诉求不能退回"):
        dispatch.return_appeal(
            session=session, appeal_id=appeal.id, actor=staff(session, "区审批局"), reason_code="R01", now=LATER
        )
    boss = supervisor(session)
    with pytest.raises(Refused, match="已由区审批局办理，无需转派"):
        dispatch.transfer(session=session, appeal_id=appeal.id, actor=boss, unit="区审批局", reason="x", now=LATER)
    with pytest.raises(Refused, match="没有单位「区外星局」"):
        dispatch.transfer(session=session, appeal_id=appeal.id, actor=boss, unit="区外星局", reason="x", now=LATER)
    with pytest.raises(Refused, match="转派原因不能为空"):
        dispatch.transfer(session=session, appeal_id=appeal.id, actor=boss, unit="区司法局", reason=" ", now=LATER)
    dispatch.transfer(
        session=session, appeal_id=appeal.id, actor=boss, unit="区司法局", reason="涉及证明事项", now=LATER
    )
    assert appeal.state == "dispatched" and appeal.signed_at is None
    signs = session.scalars(select(AppealTimer).where(AppealTimer.stage == "sign").order_by(AppealTimer.seq)).all()
    assert [timer.stop_reason for timer in signs] == ["met", None]  # the new unit signs under a new limit
    reply = session.scalar(select(AppealTimer).where(AppealTimer.stage == "reply"))
    assert reply is not None and reply.started_at == MONDAY and reply.stopped_at is None  # no reset by passing on
    lifecycle.sign(session=session, appeal_id=appeal.id, actor=staff(session, "区司法局"), now=LATER)


def test_suspension_stops_every_clock_and_resumption_returns_to_the_state(session: Session) -> None:
    appeal = bring_to(session, "handling")
    lead = staff(session, "区审批局")
    with pytest.raises(Refused, match="挂起原因"):
        lifecycle.suspend(session=session, appeal_id=appeal.id, actor=lead, reason="", now=LATER)
    reply = session.scalars(select(AppealTimer).where(AppealTimer.stage == "reply")).one()
    due = reply.due_at
    lifecycle.suspend(session=session, appeal_id=appeal.id, actor=lead, reason="请补充租赁合同", now=LATER)
    assert reply.suspended_at == LATER and reply.next_fire_at is None
    # Suspended from Monday 11:00 to Wednesday 11:00: two working days (7 h each) added to the deadline.
    lifecycle.resume(session=session, appeal_id=appeal.id, actor=lead, now=LATER + timedelta(days=2))
    assert appeal.state == "handling" and appeal.resume_state is None
    assert reply.paused_seconds == 2 * 7 * 3600 and reply.due_at == due + timedelta(days=2)
    assert reply.next_fire_at is not None


def test_extension_before_the_deadline_approved_by_the_supervisor(session: Session) -> None:
    appeal = bring_to(session, "handling")
    lead, boss = staff(session, "区审批局"), supervisor(session)
    reply = session.scalars(select(AppealTimer).where(AppealTimer.stage == "reply")).one()
    due = reply.due_at
    for days, message in ((0, "最多还可延期 23 个工作日"), (24, "不能超过 30 个工作日")):
        with pytest.raises(Refused, match=message):
            extensions.request_extension(
                session=session, appeal_id=appeal.id, actor=lead, days=days, reason="x", now=LATER
            )
    extensions.request_extension(
        session=session, appeal_id=appeal.id, actor=lead, days=5, reason="需市级部门会商", now=LATER
    )
    with pytest.raises(Refused, match="已有一项延期申请待区营商办审批"):
        extensions.request_extension(session=session, appeal_id=appeal.id, actor=lead, days=2, reason="x", now=LATER)
    with pytest.raises(Refused, match="只有区营商办可以审批延期"):
        extensions.decide_extension(session=session, appeal_id=appeal.id, actor=lead, approve=True, now=LATER)
    extensions.decide_extension(session=session, appeal_id=appeal.id, actor=boss, approve=True, now=LATER)
    assert reply.amount == 12 and reply.due_at == due + timedelta(days=7)  # 5 working days = one week here
    with pytest.raises(Refused, match="没有待审批的延期申请"):
        extensions.decide_extension(session=session, appeal_id=appeal.id, actor=boss, approve=False, now=LATER)
    told = session.scalars(select(EnterpriseNotice.text).where(EnterpriseNotice.event == "extended")).one()
    assert "答复期限延至2026年12月9日（周三）18:00" in told


def test_extension_is_refused_after_the_deadline_and_rejection_needs_a_reason(session: Session) -> None:
    appeal = bring_to(session, "handling")
    lead, boss = staff(session, "区审批局"), supervisor(session)
    with pytest.raises(Refused, match=r"答复时限已过（截止 2026-12-02 18:00），不能再申请延期"):
        extensions.request_extension(
            session=session, appeal_id=appeal.id, actor=lead, days=3, reason="x", now=MONDAY + timedelta(days=10)
        )
    extensions.request_extension(session=session, appeal_id=appeal.id, actor=lead, days=3, reason="x", now=LATER)
    with pytest.raises(Refused, match="驳回理由不能为空"):
        extensions.decide_extension(session=session, appeal_id=appeal.id, actor=boss, approve=False, now=LATER)
    extensions.decide_extension(
        session=session, appeal_id=appeal.id, actor=boss, approve=False, note="可在时限内办结", now=LATER
    )
    assert session.scalars(select(AppealTimer.amount).where(AppealTimer.stage == "reply")).one() == 7


def test_rectification_plan_with_dated_milestones_counted_apart(session: Session) -> None:
    appeal = bring_to(session, "handling")
    lead = staff(session, "区审批局")
    plan: ByActor = {"session": session, "appeal_id": appeal.id, "actor": lead, "now": LATER}
    with pytest.raises(Refused, match="至少需要一个时间节点"):
        rectification.file_plan(milestones=[], **plan)
    with pytest.raises(Refused, match="应晚于今天"):
        rectification.file_plan(milestones=[("核查", date(2026, 11, 20))], **plan)
    with pytest.raises(Refused, match="应按日期先后排列"):
        rectification.file_plan(milestones=[("核查", date(2026, 12, 20)), ("整改", date(2026, 12, 10))], **plan)
    rectification.file_plan(milestones=[("现场核查", date(2026, 12, 4)), ("完成整改", date(2027, 1, 15))], **plan)
    assert appeal.state == "rectifying"
    steps = session.scalars(select(AppealTimer).where(AppealTimer.stage == "milestone").order_by(AppealTimer.seq))
    assert [timer.provisional for timer in steps] == [False, True]  # January 2027: no holiday notice yet
    rectification.report_milestone(
        session=session, appeal_id=appeal.id, actor=lead, position=1, progress="已完成现场核查", now=LATER
    )
    with pytest.raises(Refused, match="已经报告过"):
        rectification.report_milestone(
            session=session, appeal_id=appeal.id, actor=lead, position=1, progress="x", now=LATER
        )
    with pytest.raises(Refused, match="第2项「完成整改」"):
        lifecycle.answer(session=session, appeal_id=appeal.id, actor=lead, text="已整改", now=LATER)
    rectification.report_milestone(
        session=session, appeal_id=appeal.id, actor=lead, position=2, progress="整改完成", now=LATER
    )
    lifecycle.answer(session=session, appeal_id=appeal.id, actor=lead, text="已整改到位", now=LATER)
    assert appeal.outcome == "rectified"
    events = [notice.event for notice in session.scalars(select(EnterpriseNotice).order_by(EnterpriseNotice.id))]
    assert events == ["signed", "plan", "milestone", "milestone", "answered"]


def test_satisfaction_visit_closes_or_reopens(session: Session) -> None:
    subjective = bring_to(session, "answered")
    enterprise = Actor.enterprise(subjective.openid)
    visit: At = {"session": session, "appeal_id": subjective.id, "now": LATER}
    with pytest.raises(Refused, match="评价只能是：满意、基本满意、不满意"):
        lifecycle.visit(actor=enterprise, rating="还行", **visit)
    with pytest.raises(Refused, match="不满意须选择原因：D01"):
        lifecycle.visit(actor=enterprise, rating="不满意", **visit)
    with pytest.raises(Refused, match="只能评价自己提交的诉求"):
        lifecycle.visit(actor=Actor.enterprise("o_someone_else"), rating="满意", **visit)
    with pytest.raises(Refused, match="回访由企业本人或区营商办进行"):
        lifecycle.visit(actor=staff(session, "区审批局"), rating="满意", **visit)
    lifecycle.visit(actor=enterprise, rating="不满意", reason_code="D03", **visit)
    assert subjective.state == "handling" and subjective.rating == "不满意"
    replies = session.scalars(
        select(AppealTimer)
        .where(AppealTimer.appeal_id == subjective.id, AppealTimer.stage == "reply")
        .order_by(AppealTimer.seq)
    ).all()
    assert [(timer.seq, timer.stopped_at is None) for timer in replies] == [(1, False), (2, True)]

    objective = bring_to(session, "answered")
    lifecycle.visit(
        session=session,
        appeal_id=objective.id,
        actor=supervisor(session),
        rating="不满意",
        reason_code="D05",
        note="电话回访",
        now=LATER,
    )
    assert objective.state == "closed" and objective.rating_reason == "D05"

    basic = bring_to(session, "answered")
    lifecycle.visit(
        session=session, appeal_id=basic.id, actor=Actor.enterprise(basic.openid), rating="基本满意", now=LATER
    )
    assert basic.state == "closed"


def test_closing_without_a_rating_is_the_supervisors_and_needs_a_reason(session: Session) -> None:
    appeal = bring_to(session, "answered")
    with pytest.raises(Refused, match="只有区营商办可以办结"):
        lifecycle.close(session=session, appeal_id=appeal.id, actor=staff(session, "区审批局"), reason="x", now=LATER)
    with pytest.raises(Refused, match="办结说明不能为空"):
        lifecycle.close(session=session, appeal_id=appeal.id, actor=supervisor(session), reason="", now=LATER)
    lifecycle.close(session=session, appeal_id=appeal.id, actor=supervisor(session), reason="三次回访未接通", now=LATER)
    assert appeal.state == "closed" and appeal.rating is None


def test_answer_needs_contact_first_and_text(session: Session) -> None:
    appeal = bring_to(session, "signed")
    lead = staff(session, "区审批局")
    with pytest.raises(Refused, match="请先联系企业（办理）后再答复"):
        lifecycle.answer(session=session, appeal_id=appeal.id, actor=lead, text="x", now=LATER)
    lifecycle.contact(session=session, appeal_id=appeal.id, actor=lead, now=LATER)
    with pytest.raises(Refused, match="答复内容不能为空"):
        lifecycle.answer(session=session, appeal_id=appeal.id, actor=lead, text="  ", now=LATER)


def test_the_enterprise_is_told_at_visible_steps_only(session: Session) -> None:
    appeal = bring_to(session, "closed")
    notices = session.scalars(select(EnterpriseNotice).where(EnterpriseNotice.appeal_id == appeal.id)).all()
    assert [notice.event for notice in notices] == ["signed", "answered"]  # a chat rating is answered in the chat
    assert "已由区审批局签收" in notices[0].text and "满意 / 基本满意 / 不满意" in notices[1].text
    assert all(notice.status == "pending" and notice.openid == appeal.openid for notice in notices)
