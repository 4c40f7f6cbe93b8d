"""回访 when the enterprise does not rate: the rating request is asked again once after `rating_reminder_hours`;
after as long again with no answer the appeal waits for 区营商办's phone 回访 (the supervisor's list)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import notify
from routing.lifecycle import Actor, Step
from routing.models import Action, Appeal, AppealState, NoticeEvent, Unit
from routing.rules import load_calendar, load_rules


def remind_unrated(*, session: Session, now: datetime, limit: int = 200) -> int:
    """Ask once more for the rating of appeals answered `rating_reminder_hours` ago and not rated; how many."""
    rules = load_rules(session=session)
    due = now - timedelta(hours=rules.rating_reminder_hours)
    appeals = list(
        session.scalars(
            select(Appeal)
            .where(
                Appeal.state == AppealState.ANSWERED,
                Appeal.answered_at <= due,
                Appeal.rating_reminded_at.is_(None),
            )
            .order_by(Appeal.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not appeals:
        return 0
    calendar = load_calendar(session=session)
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    for appeal in appeals:
        step = Step(
            session=session,
            appeal=appeal,
            action=Action.REMIND_RATING,
            actor=Actor.system(),
            now=now,
            _rules=rules,
            _calendar=calendar,
        )
        appeal.rating_reminded_at = now
        step.move(AppealState.ANSWERED)
        unit = units.get(appeal.unit_id, "承办单位")
        step.tell(NoticeEvent.RATING_REMINDER, notify.rating_reminder_text(appeal, unit=unit))
    session.flush()
    return len(appeals)


def awaiting_phone_visit(*, session: Session, now: datetime) -> list[int]:
    """Ids of answered appeals reminded to rate `rating_reminder_hours` ago and still not rated."""
    hours = load_rules(session=session).rating_reminder_hours
    return list(
        session.scalars(
            select(Appeal.id)
            .where(
                Appeal.state == AppealState.ANSWERED,
                Appeal.rating_reminded_at.is_not(None),
                Appeal.rating_reminded_at <= now - timedelta(hours=hours),
            )
            .order_by(Appeal.answered_at)
        )
    )
