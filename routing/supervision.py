"""区营商办's overview: every unit's numbers, overdue and escalated appeals, disputes, extensions to decide,
appeals reopened after 不满意 (重办), answered appeals waiting for a phone 回访, and the 不满意 count."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing import visits
from routing.deadlines import DeadlineStatus
from routing.models import Appeal, AppealState, Audience, Escalation, ExtensionRequest, Rating, Unit
from routing.queue import Counts, Deadline, Filters, Item, _items, counts, deadlines, queue


@dataclass(frozen=True)
class Ratings:
    """The supervisor's rating figures: 不满意 ratings given (each reopening counts) and appeals reopened now."""

    dissatisfied: int = 0
    reopened: int = 0


@dataclass(frozen=True)
class UnitRow:
    """One unit in the supervisor's table."""

    id: int
    name: str
    open: int
    dispatched: int
    due_soon: int
    overdue: int
    contact: str = ""
    head: str = ""


@dataclass(frozen=True)
class PendingExtension:
    """An extension request waiting for 区营商办."""

    id: int
    item: Item
    days: int
    reason: str
    requested_by: str
    requested_at: datetime


@dataclass
class Overview:
    """Everything the supervisor page shows."""

    counts: Counts
    units: list[UnitRow]
    overdue: list[Item]
    escalated: list[tuple[Item, datetime]]
    arbitration: list[Item]
    returned: list[Item]
    extensions: list[PendingExtension] = field(default_factory=list)
    reopened: list[Item] = field(default_factory=list)
    phone_visits: list[Item] = field(default_factory=list)
    ratings: Ratings = field(default_factory=Ratings)


def ratings(*, session: Session) -> Ratings:
    """不满意 ratings given so far (a reopening is one; a 不满意 that closed is one) and appeals in 重办 now."""
    reopens = session.scalar(select(func.coalesce(func.sum(Appeal.reopens), 0))) or 0
    closed = session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.state == AppealState.CLOSED, Appeal.rating == Rating.DISSATISFIED)
    )
    reopened = session.scalar(
        select(func.count()).select_from(Appeal).where(Appeal.reopens > 0, Appeal.state != AppealState.CLOSED)
    )
    return Ratings(dissatisfied=int(reopens) + int(closed or 0), reopened=int(reopened or 0))


def unit_table(*, session: Session, clocks: dict[int, Deadline]) -> list[UnitRow]:
    """Every unit with its open, 待签收, 即将超时 and 已超时 appeals, the most overdue first."""
    tallies: dict[int, dict[str, int]] = {}
    for appeal_id, unit_id, state in session.execute(
        select(Appeal.id, Appeal.unit_id, Appeal.state).where(Appeal.state != AppealState.CLOSED)
    ):
        tally = tallies.setdefault(unit_id, {"open": 0, "dispatched": 0, "due_soon": 0, "overdue": 0})
        tally["open"] += 1
        tally["dispatched"] += int(state == AppealState.DISPATCHED)
        clock = clocks.get(appeal_id)
        if clock is not None and clock.status in {DeadlineStatus.DUE_SOON, DeadlineStatus.OVERDUE}:
            tally[clock.status] += 1
    rows = []
    for unit in session.scalars(select(Unit).order_by(Unit.id)):
        tally = tallies.get(unit.id, {"open": 0, "dispatched": 0, "due_soon": 0, "overdue": 0})
        rows.append(UnitRow(unit.id, unit.name, contact=unit.contact_name, head=unit.head_name, **tally))
    rows.sort(key=lambda row: (-row.overdue, -row.due_soon, -row.open, row.id))
    return rows


def overview(*, session: Session, now: datetime, limit: int = 50) -> Overview:
    """The supervisor's page: counts, the unit table, overdue, escalated, disputes and extensions to decide."""
    clocks = deadlines(session=session, unit_id=None, now=now)

    def listed(filters: Filters) -> list[Item]:
        return queue(session=session, unit_id=None, filters=filters, now=now, per_page=limit, clocks=clocks).items

    escalated_at = dict(
        session.execute(
            select(Escalation.appeal_id, func.max(Escalation.fired_at))
            .join(Appeal, Appeal.id == Escalation.appeal_id)
            .where(Escalation.audience == Audience.SUPERVISOR, Appeal.state != AppealState.CLOSED)
            .group_by(Escalation.appeal_id)
        ).all()
    )
    escalated = _items(session, select(Appeal).where(Appeal.id.in_(list(escalated_at))), clocks)
    reopened = _items(
        session,
        select(Appeal)
        .where(Appeal.reopens > 0, Appeal.state != AppealState.CLOSED)
        .order_by(Appeal.updated_at.desc())
        .limit(limit),
        clocks,
    )
    to_visit = visits.awaiting_phone_visit(session=session, now=now)[:limit]
    phone_visits = _items(session, select(Appeal).where(Appeal.id.in_(to_visit)), clocks)
    escalated.sort(key=lambda item: escalated_at[item.id], reverse=True)
    requests = list(
        session.scalars(
            select(ExtensionRequest)
            .join(Appeal, Appeal.id == ExtensionRequest.appeal_id)
            .where(ExtensionRequest.approved.is_(None), Appeal.state != AppealState.CLOSED)
            .order_by(ExtensionRequest.id)
        )
    )
    asked = {
        item.id: item
        for item in _items(
            session, select(Appeal).where(Appeal.id.in_([request.appeal_id for request in requests])), clocks
        )
    }
    return Overview(
        counts=counts(session=session, unit_id=None, now=now, clocks=clocks),
        units=unit_table(session=session, clocks=clocks),
        overdue=listed(Filters(deadline=DeadlineStatus.OVERDUE)),
        escalated=[(item, escalated_at[item.id]) for item in escalated[:limit]],
        arbitration=listed(Filters(state=AppealState.ARBITRATION)),
        returned=listed(Filters(state=AppealState.RETURNED)),
        extensions=[
            PendingExtension(
                request.id,
                asked[request.appeal_id],
                request.days,
                request.reason,
                request.requested_by,
                request.requested_at,
            )
            for request in requests
        ],
        reopened=reopened,
        phone_visits=phone_visits,
        ratings=ratings(session=session),
    )
