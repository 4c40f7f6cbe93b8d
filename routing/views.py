"""Read models of appeals: lists, one appeal with its deadlines and history, an enterprise's own appeals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.calendar import WorkCalendar
from routing.deadlines import STATUS_LABELS, DeadlineStatus, describe_limit, status
from routing.lifecycle import ACTIONS, STATES
from routing.models import (
    Appeal,
    AppealEvent,
    AppealState,
    AppealTimer,
    Category,
    Escalation,
    Milestone,
    Outcome,
    Rating,
    Stage,
    Unit,
)
from routing.rules import STAGES, load_calendar, load_rules

ACTIVE = (DeadlineStatus.RUNNING, DeadlineStatus.DUE_SOON, DeadlineStatus.OVERDUE, DeadlineStatus.PAUSED)


@dataclass(frozen=True)
class DeadlineView:
    """One time limit of an appeal and where it stands."""

    stage: Stage
    seq: int
    limit: str
    due_at: datetime
    status: DeadlineStatus
    provisional: bool

    def to_dict(self, calendar: WorkCalendar) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "name": STAGES.get(self.stage, self.stage) + (f"（第{self.seq}次）" if self.seq > 1 else ""),
            "limit": self.limit,
            "due_at": self.due_at.astimezone(calendar.zone).isoformat(),
            "status": self.status,
            "status_label": STATUS_LABELS[self.status],
            "provisional": self.provisional,
        }


@dataclass(frozen=True)
class AppealView:
    """An appeal as staff and scripts see it."""

    id: int
    reference: str
    state: AppealState
    category: tuple[str, str]
    unit: str
    co_units: tuple[str, ...]
    enterprise: str
    contact: str
    phone: str
    street: str
    place: str
    description: str
    urgency: str
    needs_call: bool
    created_at: datetime
    deadlines: tuple[DeadlineView, ...]
    outcome: Outcome | None = None
    rating: Rating | None = None
    answer: str | None = None
    history: tuple[dict[str, Any], ...] = field(default=())
    milestones: tuple[dict[str, Any], ...] = field(default=())
    escalations: tuple[dict[str, Any], ...] = field(default=())

    def next_deadline(self) -> DeadlineView | None:
        """The earliest deadline still running (or paused)."""
        active = [deadline for deadline in self.deadlines if deadline.status in ACTIVE]
        return min(active, key=lambda deadline: deadline.due_at) if active else None

    def to_dict(self, calendar: WorkCalendar, *, full: bool = False) -> dict[str, Any]:
        zone = calendar.zone
        data: dict[str, Any] = {
            "reference": self.reference,
            "state": self.state,
            "state_label": STATES.get(self.state, self.state),
            "category": {"code": self.category[0], "name": self.category[1]},
            "lead_unit": self.unit,
            "units": list(self.co_units),
            "enterprise": self.enterprise,
            "urgency": self.urgency,
            "needs_call": self.needs_call,
            "created_at": self.created_at.astimezone(zone).isoformat(),
            "deadlines": [deadline.to_dict(calendar) for deadline in self.deadlines],
        }
        if full:
            data.update(
                contact=self.contact,
                phone=self.phone,
                street=self.street,
                place=self.place,
                description=self.description,
                outcome=self.outcome,
                rating=self.rating,
                answer=self.answer,
                history=[{**item, "at": item["at"].astimezone(zone).isoformat()} for item in self.history],
                milestones=list(self.milestones),
                escalations=[
                    {**item, "fired_at": item["fired_at"].astimezone(zone).isoformat()} for item in self.escalations
                ],
            )
        return data


def _deadlines(timers: list[AppealTimer], now: datetime) -> tuple[DeadlineView, ...]:
    views = []
    for timer in timers:
        first = datetime.fromisoformat(timer.fire_times[0]) if timer.fire_times else None
        warn_at = first if first is not None and first < timer.due_at else None
        views.append(
            DeadlineView(
                stage=timer.stage,
                seq=timer.seq,
                limit=describe_limit(timer.amount, timer.unit) if timer.unit != "D" else "整改节点日期",
                due_at=timer.due_at,
                status=status(
                    due_at=timer.due_at,
                    warn_at=warn_at,
                    now=now,
                    stopped_at=timer.stopped_at,
                    stop_reason=timer.stop_reason,
                    suspended=timer.suspended_at is not None,
                ),
                provisional=timer.provisional,
            )
        )
    return tuple(views)


def _views(session: Session, appeals: list[Appeal], now: datetime, *, full: bool) -> list[AppealView]:
    if not appeals:
        return []
    ids = [appeal.id for appeal in appeals]
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    categories = {
        row.id: (row.code, row.name) for row in session.execute(select(Category.id, Category.code, Category.name))
    }
    timers: dict[int, list[AppealTimer]] = {}
    for timer in session.scalars(select(AppealTimer).where(AppealTimer.appeal_id.in_(ids)).order_by(AppealTimer.id)):
        timers.setdefault(timer.appeal_id, []).append(timer)
    return [
        AppealView(
            id=appeal.id,
            reference=appeal.reference,
            state=appeal.state,
            category=categories.get(appeal.category_id, ("", "")),
            unit=units.get(appeal.unit_id, ""),
            co_units=tuple(appeal.co_units or ()),
            enterprise=appeal.enterprise,
            contact=appeal.contact,
            phone=appeal.phone,
            street=appeal.street,
            place=appeal.place,
            description=appeal.description,
            urgency=appeal.urgency,
            needs_call=appeal.needs_call,
            created_at=appeal.created_at,
            deadlines=_deadlines(timers.get(appeal.id, []), now),
            outcome=appeal.outcome,
            rating=appeal.rating,
            answer=appeal.answer,
            **(_details(session, appeal.id) if full else {}),
        )
        for appeal in appeals
    ]


def _details(session: Session, appeal_id: int) -> dict[str, Any]:
    """What the full view adds: the appeal's history, milestones and escalations, oldest first."""
    return {
        "history": tuple(
            {
                "action": event.action,
                "action_label": ACTIONS.get(event.action, event.action),
                "from": event.from_state,
                "to": event.to_state,
                "actor": event.actor,
                "role": event.actor_role,
                "reason_code": event.reason_code,
                "reason": event.reason,
                "data": event.data,
                "at": event.at,
            }
            for event in session.scalars(
                select(AppealEvent).where(AppealEvent.appeal_id == appeal_id).order_by(AppealEvent.id)
            )
        ),
        "milestones": tuple(
            {
                "position": item.position,
                "title": item.title,
                "due_on": item.due_on.isoformat(),
                "progress": item.progress,
                "reported": item.reported_at is not None,
            }
            for item in session.scalars(
                select(Milestone).where(Milestone.appeal_id == appeal_id).order_by(Milestone.position)
            )
        ),
        "escalations": tuple(
            {"level": item.level, "name": item.name, "audience": item.audience, "fired_at": item.fired_at}
            for item in session.scalars(
                select(Escalation).where(Escalation.appeal_id == appeal_id).order_by(Escalation.id)
            )
        ),
    }


def state_code(value: str) -> AppealState | None:
    """A state given by code (handling) or by its Chinese label (办理中)."""
    if value in STATES:
        return AppealState(value)
    return next((code for code, label in STATES.items() if label == value), None)


def list_appeals(
    *,
    session: Session,
    state: AppealState | None = None,
    unit: str | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[AppealView]:
    """Appeals, newest first, filtered by state and by handling unit (name)."""
    statement = select(Appeal).order_by(Appeal.id.desc())
    if state is not None:
        statement = statement.where(Appeal.state == state)
    if unit is not None:
        statement = statement.join(Unit, Unit.id == Appeal.unit_id).where(Unit.name == unit)
    if limit is not None:
        statement = statement.limit(limit)
    return _views(session, list(session.scalars(statement)), now or datetime.now(UTC), full=False)


def show_appeal(*, session: Session, reference: str, now: datetime | None = None) -> AppealView | None:
    """One appeal with its deadlines, history, milestones and escalations; None if there is no such reference."""
    appeal = session.scalar(select(Appeal).where(Appeal.reference == reference.strip().upper()))
    if appeal is None:
        return None
    return _views(session, [appeal], now or datetime.now(UTC), full=True)[0]


def appeals_of(*, session: Session, openid: str, now: datetime | None = None, limit: int = 5) -> list[AppealView]:
    """An enterprise's own appeals, open ones first, then the most recent."""
    appeals = list(session.scalars(select(Appeal).where(Appeal.openid == openid).order_by(Appeal.id.desc()).limit(50)))
    appeals.sort(key=lambda appeal: (appeal.state == AppealState.CLOSED, -appeal.id))
    return _views(session, appeals[:limit], now or datetime.now(UTC), full=False)


def calendar_and_rules(*, session: Session) -> tuple[WorkCalendar, Any]:
    """The calendar and rules in force (for formatting views)."""
    return load_calendar(session=session), load_rules(session=session)
