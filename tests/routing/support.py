"""Helpers for routing tests: actors, times in the district's zone, appeals brought to a given state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import dispatch, lifecycle, rectification
from routing.lifecycle import Actor
from routing.models import ActorRole, Appeal, Unit

ZONE = ZoneInfo("Asia/Shanghai")
SEEDED_AT = datetime(2026, 11, 27, 2, tzinfo=UTC)
# Monday 23 November 2026, 10:00 in Xi'an: a plain working day.
MONDAY = datetime(2026, 11, 23, 10, tzinfo=ZONE).astimezone(UTC)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def unit_id(session: Session, name: str) -> int:
    found = session.scalar(select(Unit.id).where(Unit.name == name))
    assert found is not None, name
    return found


def staff(session: Session, unit: str, *, role: ActorRole = ActorRole.STAFF, name: str = "li") -> Actor:
    return Actor(role, name, unit_id(session, unit))


def supervisor(session: Session) -> Actor:
    return Actor(ActorRole.SUPERVISOR, "wang", unit_id(session, "区营商办"))


def file(
    session: Session,
    *,
    now: datetime = MONDAY,
    category: str = "C06",
    openid: str = "o_enterprise",
    street: str = "",
    urgency: str | None = None,
    description: str = "营业执照办下来了，却迟迟不让开业",
) -> Appeal:
    return dispatch.file_appeal(
        session=session,
        submission=dispatch.Submission(
            openid=openid,
            enterprise="西安某某科技有限公司",
            contact="张三",
            phone="13800000000",
            description=description,
            category_code=category,
            street=street,
            urgency=urgency,
        ),
        now=now,
    )


def bring_to(session: Session, state: str, *, now: datetime = MONDAY, category: str = "C06") -> Appeal:
    """A fresh appeal of `category` (lead 区审批局 by default) walked to `state` along the main line."""
    appeal = file(session, now=now, category=category)
    if state == "dispatched":
        return appeal
    lead = staff(session, "区审批局")
    later = now + timedelta(minutes=30)
    if state in {"returned", "arbitration"}:
        for _ in range(1 if state == "returned" else 3):
            if appeal.state == "returned":
                dispatch.transfer(
                    session=session,
                    appeal_id=appeal.id,
                    actor=supervisor(session),
                    unit="区审批局",
                    reason="仍由审批局办理",
                    now=later,
                )
            dispatch.return_appeal(session=session, appeal_id=appeal.id, actor=lead, reason_code="R01", now=later)
        assert appeal.state == state
        return appeal
    lifecycle.sign(session=session, appeal_id=appeal.id, actor=lead, now=later)
    if state == "signed":
        return appeal
    lifecycle.contact(session=session, appeal_id=appeal.id, actor=lead, now=later)
    if state == "handling":
        return appeal
    if state == "suspended":
        lifecycle.suspend(session=session, appeal_id=appeal.id, actor=lead, reason="请补充营业执照副本", now=later)
        return appeal
    if state == "rectifying":
        rectification.file_plan(
            session=session, appeal_id=appeal.id, actor=lead, milestones=[("现场核查", date(2026, 12, 10))], now=later
        )
        return appeal
    lifecycle.answer(session=session, appeal_id=appeal.id, actor=lead, text="已协调，明天即可开业", now=later)
    if state == "answered":
        return appeal
    lifecycle.visit(
        session=session, appeal_id=appeal.id, actor=Actor.enterprise(appeal.openid), rating="满意", now=later
    )
    assert state == "closed" and appeal.state == "closed"
    return appeal
