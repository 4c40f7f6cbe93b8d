"""The console's read model: a unit's queue by the nearest deadline, counts, filters, scope, supervisor lists."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import dispatch, escalation, extensions, notify, queue, staff_notices, supervision
from routing.models import Notification
from routing.queue import Filters
from routing.rules import load_calendar
from tests.routing.support import MONDAY, bring_to, file, local, staff, supervisor, unit_id


class Given(TypedDict, total=False):
    """The text filters a test narrows the queue by."""

    state: str
    category: str
    deadline: str
    query: str


def refs(page: queue.Page) -> list[str]:
    return [item.reference for item in page.items]


def test_the_queue_shows_the_units_open_appeals_nearest_deadline_first(session: Session) -> None:
    early = file(session, now=MONDAY)  # sign due Monday 12:00
    late = file(session, now=MONDAY + timedelta(hours=4))  # 14:00 + 2 working hours: 16:00
    signed = bring_to(session, "signed", now=MONDAY - timedelta(days=7))  # contact was due last Tuesday
    other = file(session, category="C11")  # 区工信交通局
    closed = bring_to(session, "closed")
    approval = unit_id(session, "区审批局")
    at = MONDAY + timedelta(hours=1, minutes=45)  # 11:45: the first sign limit has passed its 75% point
    page = queue.queue(session=session, unit_id=approval, filters=Filters(), now=at)
    assert refs(page) == [signed.reference, early.reference, late.reference]
    statuses = {item.reference: item.deadline.status for item in page.items if item.deadline}
    assert statuses == {signed.reference: "overdue", early.reference: "due_soon", late.reference: "running"}
    assert page.items[1].deadline is not None and page.items[1].deadline.stage == "sign"
    assert other.reference not in refs(page) and closed.reference not in refs(page)
    counts = queue.counts(session=session, unit_id=approval, now=at)
    assert counts == queue.Counts(dispatched=2, working=1, due_soon=1, overdue=1, open=3)
    everyone = queue.queue(session=session, unit_id=None, filters=Filters(), now=at)
    assert set(refs(everyone)) == {signed.reference, early.reference, late.reference, other.reference}


def test_filters_by_state_category_deadline_and_search(session: Session) -> None:
    first = file(session, now=MONDAY)
    second = bring_to(session, "handling", now=MONDAY)
    suspended = bring_to(session, "suspended", now=MONDAY)
    closed = bring_to(session, "closed", now=MONDAY)
    approval, at = unit_id(session, "区审批局"), MONDAY + timedelta(minutes=40)

    def find(**given: Unpack[Given]) -> list[str]:
        return refs(queue.queue(session=session, unit_id=approval, filters=Filters(**given), now=at))

    assert find(state="dispatched") == [first.reference]
    assert set(find(state="working")) == {second.reference, suspended.reference}
    assert find(state="closed") == [closed.reference]
    assert find(category="C06", state="suspended") == [suspended.reference]
    assert find(category="C01") == []
    assert find(query=first.reference.lower()) == [first.reference]
    assert len(find(query="某某科技")) == 3  # by enterprise; the closed one only under 已办结
    assert find(query="%") == [] and find(query="_") == []  # wildcards are searched for, not expanded
    later = MONDAY + timedelta(days=20)
    assert set(
        refs(queue.queue(session=session, unit_id=approval, filters=Filters(deadline="overdue"), now=later))
    ) == {first.reference, second.reference}  # the suspended one's clock is paused
    paused = queue.deadlines(session=session, unit_id=approval, now=later)[suspended.id]
    assert (paused.status, paused.due_at) == ("paused", None)


def test_another_units_appeal_is_invisible_to_it_and_moves_with_a_transfer(session: Session) -> None:
    appeal = file(session)
    approval, justice = unit_id(session, "区审批局"), unit_id(session, "区司法局")
    assert queue.visible(session=session, reference=appeal.reference, unit_id=justice) is None
    assert queue.visible(session=session, reference=appeal.reference.lower(), unit_id=approval) is appeal
    assert queue.visible(session=session, reference=appeal.reference, unit_id=None) is appeal
    assert queue.visible(session=session, reference="LH-20000101-0001", unit_id=None) is None
    before = queue.scope_stamp(session=session, unit_id=approval)
    dispatch.transfer(
        session=session,
        appeal_id=appeal.id,
        actor=supervisor(session),
        unit="区司法局",
        reason="属司法局职责",
        now=MONDAY + timedelta(minutes=5),
    )
    assert queue.visible(session=session, reference=appeal.reference, unit_id=approval) is None
    assert queue.visible(session=session, reference=appeal.reference, unit_id=justice) is appeal
    assert queue.scope_stamp(session=session, unit_id=approval) != before  # the old unit's page updates too


def test_the_supervisor_overview(session: Session) -> None:
    overdue = file(session, now=MONDAY)
    returned = bring_to(session, "returned", now=MONDAY)
    disputed = bring_to(session, "arbitration", now=MONDAY)
    asking = bring_to(session, "handling", now=MONDAY)
    extensions.request_extension(
        session=session,
        appeal_id=asking.id,
        actor=staff(session, "区审批局", name="clerk"),
        days=5,
        reason="需协调住建部门",
        now=MONDAY + timedelta(hours=2),
    )
    at = local(2026, 11, 23, 16, 30)  # the 200% point of the first sign limit: 督办 to 区营商办
    escalation.sweep(session=session, now=at)
    view = supervision.overview(session=session, now=at)
    assert [item.reference for item in view.arbitration] == [disputed.reference]
    assert [item.reference for item in view.returned] == [returned.reference]
    assert [(item.item.reference, item.days, item.requested_by) for item in view.extensions] == [
        (asking.reference, 5, "clerk")
    ]
    assert overdue.reference in [item.reference for item in view.overdue]
    assert overdue.reference in [item.reference for item, _ in view.escalated]
    approval = next(row for row in view.units if row.name == "区审批局")
    assert (approval.open, approval.dispatched) == (2, 1)  # returned and disputed ones sit with 区营商办
    office = next(row for row in view.units if row.name == "区营商办")
    assert office.open == 2
    assert view.units[0].overdue >= view.units[-1].overdue
    assert view.counts.open == 4


def test_staff_notices_by_audience_unit_and_read_state(session: Session) -> None:
    file(session, now=MONDAY)
    file(session, now=MONDAY, category="C11")
    at = local(2026, 11, 23, 16, 30)
    escalation.sweep(session=session, now=at)
    notify.notify_escalations(session=session, now=at)
    notify.release_notifications(session=session, now=at, digest_minutes=60, calendar=load_calendar(session=session))
    approval = unit_id(session, "区审批局")
    staff_view = staff_notices.notices(session=session, role="staff", unit_id=approval)
    head_view = staff_notices.notices(session=session, role="unit_head", unit_id=approval)
    office_view = staff_notices.notices(session=session, role="supervisor", unit_id=None)
    assert staff_view and all("区审批局" in item.text for item in staff_view)
    assert len(head_view) > len(staff_view)  # heads also get the overdue notices
    assert [item.digest for item in office_view] == [True]  # one digest, not a storm
    assert office_view[0].text.startswith("督办汇总：2 件诉求需要督办")
    assert staff_notices.unread(session=session, role="staff", unit_id=approval) == len(staff_view)
    others = staff_notices.notices(session=session, role="staff", unit_id=unit_id(session, "区工信交通局"))
    assert (
        staff_notices.mark_read(session=session, role="staff", unit_id=approval, now=at, notice_id=others[0].id) == 0
    )  # not one's own: untouched
    assert (
        staff_notices.mark_read(session=session, role="staff", unit_id=approval, now=at, notice_id=staff_view[0].id)
        == 1
    )
    assert staff_notices.unread(session=session, role="staff", unit_id=approval) == len(staff_view) - 1
    assert staff_notices.mark_read(session=session, role="staff", unit_id=approval, now=at) == len(staff_view) - 1
    assert staff_notices.unread(session=session, role="staff", unit_id=approval) == 0
    assert session.scalar(select(Notification.read_at).where(Notification.id == others[0].id)) is None
