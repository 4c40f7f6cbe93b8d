"""What an enterprise's appeals wait for from it: material while 挂起, a rating after 答复, the confirmation of a
reported 整改 milestone, the answer to a question staff asked.

Read on every chat message of an enterprise with open appeals, so three small queries at most (none of them
locking). Each wait has a key that changes when a new request starts (a new 挂起, a new answer), so that an
enterprise that set one aside ("新问题") is asked again by the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.models import Action, Appeal, AppealEvent, AppealState, Milestone, Unit

# A question staff asked is waited on for as long as WeChat lets them write back (the 48-hour window).
QUESTION_WINDOW = timedelta(hours=48)
OPEN = (
    AppealState.SIGNED,
    AppealState.HANDLING,
    AppealState.SUSPENDED,
    AppealState.RECTIFYING,
    AppealState.ANSWERED,
)
EVENTS = (Action.SUSPEND, Action.MESSAGE, Action.ENTERPRISE_MESSAGE, Action.SUPPLEMENT, Action.CONFIRM_MILESTONE)


class Awaits(StrEnum):
    """What an appeal waits for from its enterprise."""

    SUPPLEMENT = "supplement"
    RATING = "rating"
    MILESTONE = "milestone"
    QUESTION = "question"

    @property
    def label(self) -> str:
        return AWAITS_LABELS[self]


AWAITS_LABELS: dict[Awaits, str] = {
    Awaits.SUPPLEMENT: "补充材料",
    Awaits.RATING: "评价",
    Awaits.MILESTONE: "确认整改进展",
    Awaits.QUESTION: "回复工作人员",
}


@dataclass(frozen=True)
class Awaited:
    """One thing an appeal waits for: since when, from which unit, and what exactly (the request in words)."""

    kind: Awaits
    appeal_id: int
    reference: str
    unit: str
    since: datetime
    key: str
    what: str
    position: int | None = None
    count: int = 0  # supplements received since staff asked


def awaiting(*, session: Session, openid: str, now: datetime) -> list[Awaited]:
    """Everything the enterprise's appeals wait for from it, the most recent first."""
    appeals = session.execute(
        select(Appeal, Unit.name)
        .join(Unit, Unit.id == Appeal.unit_id)
        .where(Appeal.openid == openid, Appeal.state.in_(OPEN))
        .order_by(Appeal.id)
    ).all()
    if not appeals:
        return []
    ids = [appeal.id for appeal, _ in appeals]
    events: dict[int, list[AppealEvent]] = {}
    for event in session.scalars(
        select(AppealEvent)
        .where(AppealEvent.appeal_id.in_(ids), AppealEvent.action.in_(EVENTS))
        .order_by(AppealEvent.id)
    ):
        events.setdefault(event.appeal_id, []).append(event)
    milestones: dict[int, list[Milestone]] = {}
    rectified = [appeal.id for appeal, _ in appeals if appeal.state in {AppealState.RECTIFYING, AppealState.ANSWERED}]
    if rectified:
        for milestone in session.scalars(
            select(Milestone)
            .where(Milestone.appeal_id.in_(rectified), Milestone.reported_at.is_not(None))
            .order_by(Milestone.position)
        ):
            milestones.setdefault(milestone.appeal_id, []).append(milestone)
    found: list[Awaited] = []
    for appeal, unit in appeals:
        logged = events.get(appeal.id, [])
        found += _of(appeal, unit, logged, milestones.get(appeal.id, []), now)
    found.sort(key=lambda item: item.since, reverse=True)
    return found


def _of(
    appeal: Appeal, unit: str, logged: list[AppealEvent], milestones: list[Milestone], now: datetime
) -> list[Awaited]:
    """What one appeal waits for."""
    found: list[Awaited] = []

    def wait(kind: Awaits, since: datetime, key: str, what: str, position: int | None = None, count: int = 0) -> None:
        found.append(Awaited(kind, appeal.id, appeal.reference, unit, since, key, what, position, count))

    if appeal.state == AppealState.SUSPENDED:
        asked = next((event for event in reversed(logged) if event.action == Action.SUSPEND), None)
        if asked is not None:
            count = sum(1 for event in logged if event.action == Action.SUPPLEMENT and event.id > asked.id)
            key = f"supplement:{appeal.id}:{asked.id}"
            wait(Awaits.SUPPLEMENT, asked.at, key, asked.reason, count=count)
    if appeal.state == AppealState.ANSWERED and appeal.answered_at is not None:
        key = f"rating:{appeal.id}:{int(appeal.answered_at.timestamp())}"
        wait(Awaits.RATING, appeal.answered_at, key, appeal.answer or "")
    replied = {int(event.data.get("position", 0)) for event in logged if event.action == Action.CONFIRM_MILESTONE}
    for milestone in milestones:
        if milestone.position not in replied and milestone.reported_at is not None:
            key = f"milestone:{appeal.id}:{milestone.position}"
            what = f"第 {milestone.position} 项「{milestone.title}」：{milestone.progress or ''}"
            wait(Awaits.MILESTONE, milestone.reported_at, key, what, position=milestone.position)
    question = _question(logged, now)
    if question is not None and appeal.state != AppealState.SUSPENDED:
        key = f"question:{appeal.id}:{question.id}"
        wait(Awaits.QUESTION, question.at, key, question.reason)
    return found


def _question(logged: list[AppealEvent], now: datetime) -> AppealEvent | None:
    """Staff's latest message if it asked something, lately, and the enterprise has not answered it yet."""
    last = next((event for event in reversed(logged) if event.action == Action.MESSAGE), None)
    if last is None or not last.data.get("asks") or now - last.at > QUESTION_WINDOW:
        return None
    answered = any(event.action == Action.ENTERPRISE_MESSAGE and event.id > last.id for event in logged)
    return None if answered else last
