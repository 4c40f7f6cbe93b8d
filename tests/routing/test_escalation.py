"""分级督办: each level of each limit fires once, at its time, with notices that respect working hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from routing import escalation, lifecycle, notify
from routing.models import AppealTimer, Escalation, Notification
from routing.rules import load_calendar
from tests.routing.support import MONDAY, file, local, staff


def sweep(session: Session, at: datetime) -> list[tuple[str, int, str]]:
    fired = escalation.sweep(session=session, now=at, worker="test")
    return [(item.stage, item.level, item.audience) for item in fired]


def test_each_level_fires_once_when_its_share_of_the_limit_is_used(session: Session) -> None:
    file(session, now=MONDAY)  # Monday 10:00; signing allowed 2 working hours
    assert sweep(session, local(2026, 11, 23, 11, 29)) == []
    assert sweep(session, local(2026, 11, 23, 11, 30)) == [("sign", 1, "staff")]  # 75%
    assert sweep(session, local(2026, 11, 23, 11, 31)) == []  # never twice
    # 100% at 12:00 and 200% after four working hours (lunch excluded): both due by 16:00.
    assert sweep(session, local(2026, 11, 23, 16)) == [("sign", 2, "unit_head"), ("sign", 3, "supervisor")]
    assert sweep(session, local(2026, 12, 1, 9, 15)) == [  # 75% of 7 working days: 41 h 15 min
        ("contact", 1, "staff"),
        ("contact", 2, "unit_head"),
        ("contact", 3, "supervisor"),
        ("reply", 1, "staff"),
    ]
    rows = session.execute(select(Escalation.level, Escalation.scheduled_at).order_by(Escalation.id)).all()
    assert rows[:3] == [(1, local(2026, 11, 23, 11, 30)), (2, local(2026, 11, 23, 12)), (3, local(2026, 11, 23, 16))]


def test_a_met_or_suspended_limit_does_not_escalate(session: Session) -> None:
    appeal = file(session, now=MONDAY)
    lead = staff(session, "区审批局")
    lifecycle.sign(session=session, appeal_id=appeal.id, actor=lead, now=MONDAY + timedelta(minutes=20))
    lifecycle.contact(session=session, appeal_id=appeal.id, actor=lead, now=MONDAY + timedelta(minutes=30))
    lifecycle.suspend(
        session=session, appeal_id=appeal.id, actor=lead, reason="等企业补材料", now=MONDAY + timedelta(hours=1)
    )
    assert sweep(session, MONDAY + timedelta(days=60)) == []
    lifecycle.resume(session=session, appeal_id=appeal.id, actor=lead, now=MONDAY + timedelta(days=60))
    assert [level for stage, level, _ in sweep(session, MONDAY + timedelta(days=200))] == [1, 2, 3]


def test_the_unique_key_stops_a_second_firing_even_if_a_timer_is_reset(session: Session) -> None:
    file(session, now=MONDAY)
    at = local(2026, 11, 23, 16)
    assert len(sweep(session, at)) == 3
    session.execute(update(AppealTimer).where(AppealTimer.stage == "sign").values(next_level=1, next_fire_at=MONDAY))
    assert sweep(session, at) == []  # the unique (timer, level) key refuses the duplicates
    assert session.scalar(select(func.count()).select_from(Escalation)) == 3
    assert session.scalar(select(AppealTimer.next_level).where(AppealTimer.stage == "sign")) == 4


def test_notices_wait_for_working_hours_unless_urgent(session: Session) -> None:
    calendar = load_calendar(session=session)
    file(session, now=local(2026, 11, 23, 16), openid="o_normal")
    file(session, now=local(2026, 11, 23, 16), openid="o_urgent", description="工厂被断电，马上停产了，十万火急")
    # The worker was down from 17:00: levels that fell due at 17:30 and 18:00 fire when it is back at 20:00.
    evening = local(2026, 11, 23, 20)
    fired = escalation.sweep(session=session, now=evening)
    assert notify.notify_escalations(session=session, now=evening) == 5
    assert notify.notify_escalations(session=session, now=evening) == 0  # one notice per escalation
    assert sorted((item.reference, item.level) for item in fired) == [
        ("LH-20261123-0001", 1),
        ("LH-20261123-0001", 2),  # normal: 2 working hours to sign
        ("LH-20261123-0002", 1),
        ("LH-20261123-0002", 2),
        ("LH-20261123-0002", 3),  # urgent: 1 working hour
    ]
    notices = session.scalars(select(Notification).order_by(Notification.id)).all()
    assert {(notice.urgent, notice.release_at) for notice in notices} == {
        (False, local(2026, 11, 24, 9)),
        (True, evening),
    }
    normal = next(notice for notice in notices if not notice.urgent)
    assert normal.text.startswith("【提醒】诉求 LH-20261123-0001（西安某某科技有限公司，区审批局）的签收时限已用去 75%")
    assert notify.release_notifications(session=session, now=evening, digest_minutes=60, calendar=calendar) == 3
    assert (
        notify.release_notifications(session=session, now=local(2026, 11, 24, 9), digest_minutes=60, calendar=calendar)
        == 2
    )


def test_supervisors_get_a_digest_not_a_storm(session: Session) -> None:
    calendar = load_calendar(session=session)
    for number in range(5):
        file(session, now=MONDAY, openid=f"o_{number}")
    morning = local(2026, 11, 24, 9, 30)
    escalation.sweep(session=session, now=morning)
    notify.notify_escalations(session=session, now=morning)
    supervisor_items = session.scalars(
        select(Notification).where(Notification.audience == "supervisor", Notification.escalation_id.is_not(None))
    ).all()
    assert len(supervisor_items) == 5  # the five sign limits passed 200%
    notify.release_notifications(session=session, now=morning, digest_minutes=60, calendar=calendar)
    digests = session.scalars(
        select(Notification).where(Notification.audience == "supervisor", Notification.escalation_id.is_(None))
    ).all()
    assert len(digests) == 1 and digests[0].text.startswith("督办汇总：5 件诉求需要督办")
    assert {item.digest_id for item in supervisor_items} == {digests[0].id}
    # More escalations within the digest interval wait for the next digest.
    escalation.sweep(session=session, now=local(2026, 11, 30, 10))
    notify.notify_escalations(session=session, now=local(2026, 11, 30, 10))
    notify.release_notifications(session=session, now=local(2026, 11, 24, 10), digest_minutes=60, calendar=calendar)
    assert (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.audience == "supervisor", Notification.escalation_id.is_(None))
        )
        == 1
    )
    notify.release_notifications(session=session, now=local(2026, 11, 30, 10), digest_minutes=60, calendar=calendar)
    assert (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.audience == "supervisor", Notification.escalation_id.is_(None))
        )
        == 2
    )
