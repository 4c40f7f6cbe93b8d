"""A month of appeals with known timestamps (November 2026, Asia/Shanghai), for the indicators' tests.

Working hours are 09:00-12:00 and 14:00-18:00; limits (default table, normal urgency): 签收 2 working hours,
联系 1 working day, 答复 7 working days. The hand-computed figures of docs/indicators.md are in EXPECTED.

| appeal | unit now | what happened |
|---|---|---|
| A | 区审批局 | Mon 2nd 10:00 filed (北院门); signed 11:00; answered 4th 10:00; 满意 5th 10:00 |
| B | 区审批局 | Tue 3rd 10:00; signed 15:00 (late); answered 6th 10:00; 基本满意 9th 10:00 |
| C | 区司法局 | Wed 4th 10:00 (C08); signed 10:30; answered 5th; 不满意 D01 6th (reopened); answered 9th; 满意 10th |
| D | 区司法局 | Thu 5th 10:00; returned 10:30 by 区审批局; transferred 11:00; signed 16:00 (late); never answered |
| E | 区审批局 | Fri 6th 10:00; signed 10:30; answered 9th; closed by 区营商办 without a rating 12th 10:00 |
| F | 区审批局 | Mon 9th 10:00; signed 10:30; answered 20th 10:00 (late); 不满意 D05 (objective) 23rd: closed |
| G | 区审批局 | Mon 30th 17:00; nothing yet (its 签收 limit falls due in December) |
| H | 区审批局 | Fri 30 October 10:00; signed 10:30; answered 2 Nov 10:00; 满意 3 Nov 10:00 |
| I | 区审批局 | Tue 10th 10:00; never signed |
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import dispatch, lifecycle
from routing.indicators import Scope
from routing.lifecycle import Actor
from routing.models import ActorRole, Appeal, Unit

ZONE = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A local time of 2026 as an aware UTC datetime."""
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


NOVEMBER = Scope(start=at(11, 1, 0), end=at(12, 1, 0), now=at(12, 10, 10))


def _unit(session: Session, name: str) -> int:
    found = session.scalar(select(Unit.id).where(Unit.name == name))
    assert found is not None, name
    return found


def build_month(session: Session) -> dict[str, Appeal]:
    """File and walk the nine appeals; returns them by letter."""
    approval = Actor(ActorRole.STAFF, "li", _unit(session, "区审批局"))
    justice = Actor(ActorRole.STAFF, "zhao", _unit(session, "区司法局"))
    office = Actor(ActorRole.SUPERVISOR, "wang", _unit(session, "区营商办"))
    made: dict[str, Appeal] = {}

    def new(letter: str, when: datetime, category: str = "C06", street: str = "") -> int:
        submission = dispatch.Submission(
            openid=f"o_{letter}",
            enterprise=f"西安{letter}科技有限公司",
            contact="张三",
            phone="13800000000",
            description=f"诉求{letter}：营业执照办下来了却迟迟不让开业",
            category_code=category,
            street=street,
        )
        appeal = dispatch.file_appeal(session=session, submission=submission, now=when)
        made[letter] = appeal
        return appeal.id

    def work(appeal_id: int, who: Actor, signed: datetime, answered: datetime | None) -> None:
        lifecycle.sign(session=session, appeal_id=appeal_id, actor=who, now=signed)
        lifecycle.contact(session=session, appeal_id=appeal_id, actor=who, now=signed.replace(minute=signed.minute + 5))
        if answered is not None:
            lifecycle.answer(session=session, appeal_id=appeal_id, actor=who, text="已办理", now=answered)

    def rate(appeal_id: int, letter: str, rating: str, when: datetime, reason: str | None = None) -> None:
        lifecycle.visit(
            session=session,
            appeal_id=appeal_id,
            actor=Actor.enterprise(f"o_{letter}"),
            rating=rating,
            reason_code=reason,
            now=when,
        )

    a = new("A", at(11, 2, 10), street="北院门")
    work(a, approval, at(11, 2, 11), at(11, 4, 10))
    rate(a, "A", "满意", at(11, 5, 10))
    b = new("B", at(11, 3, 10))
    work(b, approval, at(11, 3, 15), at(11, 6, 10))
    rate(b, "B", "基本满意", at(11, 9, 10))
    c = new("C", at(11, 4, 10), category="C08")
    work(c, justice, at(11, 4, 10, 30), at(11, 5, 10))
    rate(c, "C", "不满意", at(11, 6, 10), reason="D01")
    lifecycle.answer(session=session, appeal_id=c, actor=justice, text="已重新办理", now=at(11, 9, 10))
    rate(c, "C", "满意", at(11, 10, 10))
    d = new("D", at(11, 5, 10))
    dispatch.return_appeal(session=session, appeal_id=d, actor=approval, reason_code="R01", now=at(11, 5, 10, 30))
    dispatch.transfer(session=session, appeal_id=d, actor=office, unit="区司法局", reason="属司法局", now=at(11, 5, 11))
    work(d, justice, at(11, 5, 16), None)
    e = new("E", at(11, 6, 10))
    work(e, approval, at(11, 6, 10, 30), at(11, 9, 10))
    lifecycle.close(session=session, appeal_id=e, actor=office, reason="多次联系不上企业", now=at(11, 12, 10))
    f = new("F", at(11, 9, 10))
    work(f, approval, at(11, 9, 10, 30), at(11, 20, 10))
    rate(f, "F", "不满意", at(11, 23, 10), reason="D05")
    new("G", at(11, 30, 17))
    h = new("H", at(10, 30, 10))
    work(h, approval, at(10, 30, 10, 30), at(11, 2, 10))
    rate(h, "H", "满意", at(11, 3, 10))
    new("I", at(11, 10, 10))
    session.flush()
    return made


# The figures of November by hand (see the table above and docs/indicators.md).
EXPECTED_ALL = {
    "received": 8,  # A B C D E F G I (H came in October)
    "response_due": 7,  # A B C D E F I (G's limit falls due on 1 December)
    "response_on_time": 4,  # A C E F; B and D signed late, I never
    "closed": 6,  # A B C E F H
    "closed_on_time": 5,  # F answered after its 答复 limit
    "solved": 4,  # A B C H; E has no confirmation, F was 不满意
    "rectified": 0,
    "rated": 6,  # A B C(不满意) C(满意) F H
    "satisfied": 4,
    "dissatisfied": 2,
    "reopened": 1,
    "assigned": 9,  # nine 签收 limits for units in November (D twice); 区营商办's own is not counted
    "returned": 1,
    "overdue": 4,  # B (签收), D (区司法局's 签收, 答复 running), F (答复), I (签收, 联系)
    "sign_hours": 1.58,  # (1 + 3 + 0.5 + 4 + 0.5 + 0.5) / 6
    "answer_hours": 22.17,  # (14 + 21 + 21 + 7 + 63 + 7) / 6
    "close_hours": 31.5,  # (21 + 28 + 28 + 28 + 70 + 14) / 6
}
EXPECTED_UNITS: dict[str, dict[str, Any]] = {
    "区审批局": {
        "received": 6, "response_due": 5, "response_on_time": 3, "closed": 5, "closed_on_time": 4, "solved": 3,
        "rated": 4, "satisfied": 3, "dissatisfied": 1, "reopened": 0, "assigned": 7, "returned": 1, "overdue": 3,
        "sign_hours": 1.25,
    },
    "区司法局": {
        "received": 2, "response_due": 2, "response_on_time": 1, "closed": 1, "closed_on_time": 1, "solved": 1,
        "rated": 2, "satisfied": 1, "dissatisfied": 1, "reopened": 1, "assigned": 2, "returned": 0, "overdue": 1,
        "sign_hours": 2.25,
    },
    "区营商办": {"received": 0, "response_due": 1, "response_on_time": 1, "assigned": 0, "sign_hours": None},
}  # fmt: skip
