"""Staff talking to the enterprise: replies queued over the notice path, phone calls, quick replies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import conversation, lifecycle
from routing.lifecycle import Refused
from routing.models import AppealEvent, AppealTimer, EnterpriseNotice, RoutingSetting
from tests.routing.support import MONDAY, bring_to, file, staff, supervisor

LATER = MONDAY + timedelta(hours=1)


def notices(session: Session, appeal_id: int) -> list[tuple[str, str]]:
    return [
        (row.event, row.text)
        for row in session.scalars(
            select(EnterpriseNotice).where(EnterpriseNotice.appeal_id == appeal_id).order_by(EnterpriseNotice.id)
        )
    ]


def test_the_first_reply_after_signing_is_the_first_contact_and_reaches_the_outbox(session: Session) -> None:
    appeal = bring_to(session, "signed")
    lead = staff(session, "区审批局", name="clerk")
    conversation.send_message(session=session, appeal_id=appeal.id, actor=lead, text="  您好，我们已收到  ", now=LATER)
    assert appeal.state == "handling" and appeal.contacted_at == LATER
    contact = session.scalars(
        select(AppealTimer).where(AppealTimer.appeal_id == appeal.id, AppealTimer.stage == "contact")
    ).one()
    assert (contact.stopped_at, contact.stop_reason) == (LATER, "met")
    event = session.scalars(
        select(AppealEvent).where(AppealEvent.appeal_id == appeal.id).order_by(AppealEvent.id.desc())
    ).first()
    assert event is not None
    assert (event.action, event.from_state, event.to_state, event.actor, event.actor_role, event.reason) == (
        "message",
        "signed",
        "handling",
        "clerk",
        "staff",
        "您好，我们已收到",
    )
    assert notices(session, appeal.id)[-1] == (
        "message",
        f"关于您反映的诉求（编号 {appeal.reference}），区审批局回复：\n您好，我们已收到",
    )
    # A second reply keeps the state.
    conversation.send_message(session=session, appeal_id=appeal.id, actor=lead, text="请问方便接电话吗", now=LATER)
    assert appeal.state == "handling" and len(notices(session, appeal.id)) == 3  # signed, two replies


def test_replies_are_refused_before_signing_by_other_units_and_when_empty_or_too_long(session: Session) -> None:
    appeal = file(session)
    lead = staff(session, "区审批局")
    with pytest.raises(Refused, match="不能回复企业：请先签收"):
        conversation.send_message(session=session, appeal_id=appeal.id, actor=lead, text="您好", now=LATER)
    lifecycle.sign(session=session, appeal_id=appeal.id, actor=lead, now=LATER)
    with pytest.raises(Refused, match="由区审批局办理，您所在单位不能回复企业"):
        conversation.send_message(
            session=session, appeal_id=appeal.id, actor=staff(session, "区司法局"), text="您好", now=LATER
        )
    with pytest.raises(Refused, match="回复内容不能为空"):
        conversation.send_message(session=session, appeal_id=appeal.id, actor=lead, text="   ", now=LATER)
    with pytest.raises(Refused, match="回复内容最多 2000 字（现在 2001 字）"):
        conversation.send_message(session=session, appeal_id=appeal.id, actor=lead, text="字" * 2001, now=LATER)
    assert appeal.state == "signed"
    assert [event for event, _ in notices(session, appeal.id)] == ["signed"]


def test_the_supervisor_may_write_in_its_own_name_without_taking_the_first_contact(session: Session) -> None:
    appeal = bring_to(session, "signed")
    conversation.send_message(
        session=session, appeal_id=appeal.id, actor=supervisor(session), text="区营商办在督办", now=LATER
    )
    assert appeal.state == "signed"  # the unit still has to contact the enterprise itself
    assert notices(session, appeal.id)[-1][1].endswith("区营商办回复：\n区营商办在督办")


def test_a_phone_call_is_logged_clears_the_flag_and_counts_as_contact(session: Session) -> None:
    appeal = bring_to(session, "signed")
    appeal.needs_call = True
    lead = staff(session, "区审批局", name="clerk")
    with pytest.raises(Refused, match="通话情况不能为空"):
        conversation.phoned(session=session, appeal_id=appeal.id, actor=lead, note="", now=LATER)
    conversation.phoned(session=session, appeal_id=appeal.id, actor=lead, note="已电话联系张三", now=LATER)
    assert (appeal.needs_call, appeal.state, appeal.contacted_at) == (False, "handling", LATER)
    assert notices(session, appeal.id) == [("signed", notices(session, appeal.id)[0][1])]  # nothing sent for a call
    closed = bring_to(session, "closed")
    with pytest.raises(Refused, match="当前为「已办结」，不能电话联系企业"):
        conversation.phoned(session=session, appeal_id=closed.id, actor=lead, note="x", now=LATER)


def test_quick_replies_are_data_with_the_appeal_filled_in(session: Session) -> None:
    appeal = file(session)
    shipped = conversation.quick_replies(session=session)
    assert len(shipped) >= 5 and shipped[0].name == "已收到，正在核实"
    assert conversation.fill(shipped[0].text, appeal=appeal, unit="区审批局").startswith("张三您好")
    session.add(
        RoutingSetting(
            key="quick_replies",
            value=[
                {"name": "本地", "text": "{enterprise}：{reference} 由{unit}办理 {unknown}"},
                {"name": "", "text": "skipped"},
            ],
        )
    )
    session.flush()
    [own] = conversation.quick_replies(session=session)
    assert conversation.fill(own.text, appeal=appeal, unit="区审批局") == (
        f"西安某某科技有限公司：{appeal.reference} 由区审批局办理 {{unknown}}"
    )
