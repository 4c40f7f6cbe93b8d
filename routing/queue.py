"""What the staff console reads: a unit's queue by the nearest deadline, its counts, and the supervisor's lists.

A scope is one unit's id (staff and unit heads see the appeals their unit handles now) or None for every
unit (区营商办). Deadline statuses follow routing.deadlines: 即将超时 once the first reminder point of a
running limit has passed, 已超时 once its due time has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from routing.deadlines import DeadlineStatus, status
from routing.lifecycle import STATES, WORKING
from routing.models import (
    Action,
    Appeal,
    AppealEvent,
    AppealState,
    AppealTimer,
    Category,
    Stage,
    Unit,
)

# The queue's state filter: a state, or "working" for every state of WORKING.
WORKING_FILTER = "working"
STATE_FILTERS: dict[str, str] = {
    AppealState.DISPATCHED: "待签收",
    WORKING_FILTER: "办理中（含已签收、挂起、整改）",
    **{state: label for state, label in STATES.items() if state != AppealState.DISPATCHED},
}
DEADLINE_FILTERS = {DeadlineStatus.DUE_SOON: "即将超时", DeadlineStatus.OVERDUE: "已超时"}
SEVERITY = {DeadlineStatus.OVERDUE: 3, DeadlineStatus.DUE_SOON: 2, DeadlineStatus.RUNNING: 1}
PER_PAGE = 50


@dataclass(frozen=True)
class Deadline:
    """The state of an appeal's clocks: the worst running status and the nearest due time."""

    status: DeadlineStatus  # running, due_soon, overdue or paused
    due_at: datetime | None
    stage: Stage | None
    warn_at: datetime | None = None


@dataclass(frozen=True)
class Item:
    """One appeal as a row of the queue."""

    id: int
    reference: str
    openid: str
    state: AppealState
    category: str
    unit_id: int
    unit: str
    enterprise: str
    description: str
    urgency: str
    needs_call: bool
    created_at: datetime
    deadline: Deadline | None
    contact: str = ""
    phone: str = ""
    reopens: int = 0  # 重办: reopened after a 不满意 rating

    @property
    def state_label(self) -> str:
        return self.state.label


@dataclass(frozen=True)
class Filters:
    """What the queue is narrowed to; empty strings mean "any"."""

    state: str = ""
    category: str = ""
    deadline: str = ""
    query: str = ""
    unit: int | None = None  # for the all-units scope
    # Received in [since, until) (the export's date range).
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Page:
    items: list[Item]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Counts:
    """The numbers on top of the queue."""

    dispatched: int = 0
    working: int = 0
    due_soon: int = 0
    overdue: int = 0
    open: int = 0


def _in_scope(statement: Any, unit_id: int | None) -> Any:
    """The statement narrowed to one unit's appeals, or left as it is for every unit."""
    return statement if unit_id is None else statement.where(Appeal.unit_id == unit_id)


def open_openids(*, unit_id: int | None) -> Select[Any]:
    """The openids of the scope's open appeals (for the caller to join its conversation tables on)."""
    statement: Select[Any] = _in_scope(select(Appeal.openid).where(Appeal.state != AppealState.CLOSED), unit_id)
    return statement


def deadlines(*, session: Session, unit_id: int | None, now: datetime) -> dict[int, Deadline]:
    """The clock state of every open appeal in scope that has a running (or paused) limit."""
    statement = (
        select(
            AppealTimer.appeal_id,
            AppealTimer.stage,
            AppealTimer.due_at,
            AppealTimer.fire_times,
            AppealTimer.suspended_at,
        )
        .join(Appeal, Appeal.id == AppealTimer.appeal_id)
        .where(AppealTimer.stopped_at.is_(None), Appeal.state != AppealState.CLOSED)
    )
    found: dict[int, Deadline] = {}
    for appeal_id, stage, due_at, fire_times, suspended_at in session.execute(_in_scope(statement, unit_id)):
        if suspended_at is not None:
            found.setdefault(appeal_id, Deadline(DeadlineStatus.PAUSED, None, None))
            continue
        first = datetime.fromisoformat(fire_times[0]) if fire_times else None
        warn_at = first if first is not None and first < due_at else None
        current = status(due_at=due_at, warn_at=warn_at, now=now, stopped_at=None, stop_reason=None, suspended=False)
        known = found.get(appeal_id)
        if known is None or known.status == DeadlineStatus.PAUSED:
            found[appeal_id] = Deadline(current, due_at, stage, warn_at)
            continue
        worst = current if SEVERITY[current] > SEVERITY[known.status] else known.status
        nearest = (
            (due_at, stage, warn_at)
            if known.due_at is None or due_at < known.due_at
            else (known.due_at, known.stage, known.warn_at)
        )
        found[appeal_id] = Deadline(worst, *nearest)
    return found


def counts(
    *, session: Session, unit_id: int | None, now: datetime, clocks: dict[int, Deadline] | None = None
) -> Counts:
    """待签收, 办理中, 即将超时, 已超时 and all open appeals in scope."""
    clocks = clocks if clocks is not None else deadlines(session=session, unit_id=unit_id, now=now)
    by_state: dict[AppealState, int] = dict(
        session.execute(
            _in_scope(select(Appeal.state, func.count()).where(Appeal.state != AppealState.CLOSED), unit_id).group_by(
                Appeal.state
            )
        ).all()
    )
    statuses = [clock.status for clock in clocks.values()]
    return Counts(
        dispatched=int(by_state.get(AppealState.DISPATCHED, 0)),
        working=sum(int(by_state.get(state, 0)) for state in WORKING),
        due_soon=statuses.count(DeadlineStatus.DUE_SOON),
        overdue=statuses.count(DeadlineStatus.OVERDUE),
        open=sum(int(value) for value in by_state.values()),
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _items(session: Session, statement: Select[Any], clocks: dict[int, Deadline]) -> list[Item]:
    rows = session.execute(
        statement.add_columns(Category.name, Unit.name)
        .join(Category, Category.id == Appeal.category_id)
        .join(Unit, Unit.id == Appeal.unit_id)
    )
    return [
        Item(
            id=appeal.id,
            reference=appeal.reference,
            openid=appeal.openid,
            state=appeal.state,
            category=category,
            unit_id=appeal.unit_id,
            unit=unit,
            enterprise=appeal.enterprise,
            description=appeal.description,
            urgency=appeal.urgency,
            needs_call=appeal.needs_call,
            created_at=appeal.created_at,
            deadline=clocks.get(appeal.id),
            contact=appeal.contact,
            phone=appeal.phone,
            reopens=appeal.reopens or 0,
        )
        for appeal, category, unit in rows
    ]


def items_of(*, session: Session, statement: Select[Any]) -> list[Item]:
    """The appeals a `select(Appeal)` finds, as rows of a list (oldest first), without their clocks."""
    return _items(session, statement.order_by(Appeal.id), {})


def _sort_key(item: Item) -> tuple[int, float, int]:
    due = item.deadline.due_at if item.deadline is not None else None
    return (due is None, due.timestamp() if due is not None else 0.0, item.id)


def _received_within(statement: Select[Any], filters: Filters) -> Select[Any]:
    """The statement narrowed to appeals received in [since, until), where those are given."""
    if filters.since is not None:
        statement = statement.where(Appeal.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Appeal.created_at < filters.until)
    return statement


def queue(
    *,
    session: Session,
    unit_id: int | None,
    filters: Filters,
    now: datetime,
    page: int = 1,
    per_page: int = PER_PAGE,
    clocks: dict[int, Deadline] | None = None,
) -> Page:
    """The scope's appeals matching the filters, nearest deadline first (closed ones: latest closed first)."""
    statement = _in_scope(select(Appeal), unit_id)
    if filters.unit is not None:
        statement = statement.where(Appeal.unit_id == filters.unit)
    if filters.state == AppealState.CLOSED:
        statement = statement.where(Appeal.state == AppealState.CLOSED).order_by(
            Appeal.closed_at.desc(), Appeal.id.desc()
        )
    elif filters.state == WORKING_FILTER:
        statement = statement.where(Appeal.state.in_(WORKING))
    elif filters.state in STATES:
        statement = statement.where(Appeal.state == filters.state)
    else:
        statement = statement.where(Appeal.state != AppealState.CLOSED)
    statement = _received_within(statement, filters)
    if filters.category:
        codes = select(Category.id).where(Category.code == filters.category)
        statement = statement.where(Appeal.category_id.in_(codes))
    query = filters.query.strip()
    if query:
        pattern = _like(query)
        statement = statement.where(
            or_(Appeal.reference.ilike(pattern, escape="\\"), Appeal.enterprise.ilike(pattern, escape="\\"))
        )
    if filters.state == AppealState.CLOSED:
        total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        pages = max(1, math.ceil(total / per_page))
        page = min(max(page, 1), pages)
        items = _items(session, statement.limit(per_page).offset((page - 1) * per_page), {})
        return Page(items, total, page, pages)
    clocks = clocks if clocks is not None else deadlines(session=session, unit_id=unit_id, now=now)
    items = _items(session, statement, clocks)
    if filters.deadline in DEADLINE_FILTERS:
        items = [item for item in items if item.deadline is not None and item.deadline.status == filters.deadline]
    items.sort(key=_sort_key)
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(max(page, 1), pages)
    return Page(items[(page - 1) * per_page : page * per_page], len(items), page, pages)


def supplemented(*, session: Session, appeal_ids: list[int]) -> set[int]:
    """Of these appeals, the 挂起 ones whose enterprise has sent material since staff asked for it."""
    if not appeal_ids:
        return set()
    last: dict[int, tuple[int, int]] = {}
    for appeal_id, action, event_id in session.execute(
        select(AppealEvent.appeal_id, AppealEvent.action, func.max(AppealEvent.id))
        .join(Appeal, Appeal.id == AppealEvent.appeal_id)
        .where(
            AppealEvent.appeal_id.in_(appeal_ids),
            Appeal.state == AppealState.SUSPENDED,
            AppealEvent.action.in_((Action.SUSPEND, Action.SUPPLEMENT)),
        )
        .group_by(AppealEvent.appeal_id, AppealEvent.action)
    ):
        asked, sent = last.get(appeal_id, (0, 0))
        last[appeal_id] = (event_id, sent) if action == Action.SUSPEND else (asked, event_id)
    return {appeal_id for appeal_id, (asked, sent) in last.items() if sent > asked}


def visible(*, session: Session, reference: str, unit_id: int | None) -> Appeal | None:
    """The appeal with this reference if the scope may see it (its unit handles it now); None otherwise."""
    appeal = session.scalar(select(Appeal).where(Appeal.reference == reference.strip().upper()))
    if appeal is None or (unit_id is not None and appeal.unit_id != unit_id):
        return None
    return appeal


def scope_stamp(*, session: Session, unit_id: int | None) -> tuple[int, int]:
    """(open appeals, last logged transition) in scope: changes whenever the queue does."""
    opened = (
        session.scalar(
            _in_scope(select(func.count()).select_from(Appeal).where(Appeal.state != AppealState.CLOSED), unit_id)
        )
        or 0
    )
    last = (
        session.scalar(
            _in_scope(select(func.max(AppealEvent.id)).join(Appeal, Appeal.id == AppealEvent.appeal_id), unit_id)
        )
        or 0
    )
    return int(opened), int(last)
