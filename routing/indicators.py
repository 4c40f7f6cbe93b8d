"""The office's indicators, computed in SQL from the recorded timestamps (definitions: docs/indicators.md).

Every figure comes from one of a few sources: a SELECT of (group key, appeal id, 0/1 flags, seconds) over
the rows of a period, read through an index. Counting groups the source by key in the database; the drill-down
behind a number selects the appeal ids of the same source with the same flag, so a number and its list
cannot disagree. A period is [start, end) in UTC; deadlines count only once they have passed (`now`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, and_, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from routing.models import (
    Action,
    Appeal,
    AppealEvent,
    AppealState,
    AppealTimer,
    Category,
    Outcome,
    Rating,
    RoutingSetting,
    Stage,
    StopReason,
    Unit,
)

ALL = "all"
SATISFIED = (Rating.SATISFIED, Rating.FAIRLY_SATISFIED)


class Dimension(StrEnum):
    """What the figures are grouped by."""

    UNIT = "unit"
    CATEGORY = "category"
    STREET = "street"
    TASK = "task"

    @property
    def label(self) -> str:
        return DIMENSION_LABELS[self]


DIMENSION_LABELS = {
    Dimension.UNIT: "承办单位",
    Dimension.CATEGORY: "诉求类别",
    Dimension.STREET: "街道",
    Dimension.TASK: "对应任务",
}


@dataclass(frozen=True)
class Scope:
    """A period [start, end) in UTC, the time the figures are taken at, and optionally one unit's own view."""

    start: datetime
    end: datetime
    now: datetime
    unit_id: int | None = None
    # The least and greatest id of the appeals the period's timers and events belong to (`spanned` reads it):
    # joins to the appeals then read that range of their primary key, planned with the range known.
    span: tuple[int, int] | None = None

    @property
    def unit_clock(self) -> bool:
        return self.unit_id is not None


@dataclass
class Figures:
    """The counts of one group; the rates are derived (None when there is nothing to divide by)."""

    received: int = 0
    response_due: int = 0
    response_on_time: int = 0
    closed: int = 0
    closed_on_time: int = 0
    solved: int = 0
    rectified: int = 0
    rated: int = 0
    satisfied: int = 0
    dissatisfied: int = 0
    reopened: int = 0
    assigned: int = 0
    returned: int = 0
    overdue: int = 0
    sign_hours: float | None = None
    answer_hours: float | None = None
    close_hours: float | None = None

    @property
    def response_rate(self) -> float | None:
        return _rate(self.response_on_time, self.response_due)

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.closed_on_time, self.closed)

    @property
    def solved_rate(self) -> float | None:
        return _rate(self.solved, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied, self.rated)

    @property
    def return_rate(self) -> float | None:
        return _rate(self.returned, self.assigned)

    @property
    def reopen_rate(self) -> float | None:
        return _rate(self.reopened, self.rated)

    def to_dict(self) -> dict[str, Any]:
        """Counts, average hours and rates (numbers in [0, 1] or null), as `reports kpi --json` prints them."""
        rates = {name: getattr(self, name) for name in RATES}
        return {**asdict(self), **rates}


RATES = ("response_rate", "on_time_rate", "solved_rate", "satisfaction_rate", "return_rate", "reopen_rate")


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where the condition holds, else 0 (NULL counts as not holding)."""
    return case((condition, 1), else_=0)


def _unless(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where the condition does not hold (NULL included): the complement of `_flag`."""
    return case((condition, 0), else_=1)


def _within(column: Any, scope: Scope) -> ColumnElement[bool]:
    return and_(column >= scope.start, column < scope.end)


def _appeal_key(by: Dimension | None) -> Any:
    """The group key of an appeal row (the appeals table joined to categories)."""
    if by is None:
        return literal(ALL)
    return {
        Dimension.UNIT: Appeal.unit_id,
        Dimension.CATEGORY: Appeal.category_id,
        Dimension.STREET: Appeal.street_unit_id,
        Dimension.TASK: Category.seed_task,
    }[by]


def _keyed(statement: Select[Any], by: Dimension | None) -> Select[Any]:
    """Join what the key needs: categories for the seed task."""
    return statement.join(Category, Category.id == Appeal.category_id) if by == Dimension.TASK else statement


def _with_appeal(statement: Select[Any], appeal_id: Any, by: Dimension | None) -> Select[Any]:
    """Join the appeals table only when the key is read from it: over a million appeals the join is the cost."""
    needed = by not in (None, Dimension.UNIT)
    return statement.join(Appeal, Appeal.id == appeal_id) if needed else statement


def _in_unit(statement: Select[Any], scope: Scope, column: Any = Appeal.unit_id) -> Select[Any]:
    return statement if scope.unit_id is None else statement.where(column == scope.unit_id)


def _joined(rows: CTE, scope: Scope) -> ColumnElement[bool]:
    """The join of the period's rows (timers, events) to their appeals, read as a range of the appeals' primary key.

    The rows of a period belong to appeals that mostly lie close together, but the planner cannot know it and
    hashes every appeal; bounding the join by the least and greatest appeal id of the rows makes it an index range
    of the appeals concerned (never wrong: at worst, with one old appeal among them, as wide as before).
    """
    if scope.span is not None:
        low, high = scope.span
        return and_(Appeal.id == rows.c.appeal_id, Appeal.id >= low, Appeal.id <= high)
    least = select(func.min(rows.c.appeal_id)).scalar_subquery()
    greatest = select(func.max(rows.c.appeal_id)).scalar_subquery()
    return and_(Appeal.id == rows.c.appeal_id, Appeal.id >= least, Appeal.id <= greatest)


def _sign_due(scope: Scope) -> ColumnElement[bool]:
    """签收 limits that fall due in the period (a literal stage: the partial index ix_appeal_timers_sign_due_at
    matches it, in prepared plans too)."""
    return and_(AppealTimer.stage == literal_column(f"'{Stage.SIGN}'"), _within(AppealTimer.due_at, scope))


def _visited(scope: Scope) -> ColumnElement[bool]:
    return and_(AppealEvent.action == Action.VISIT, _within(AppealEvent.at, scope))


def _missed(scope: Scope) -> ColumnElement[bool]:
    """Limits that fell due in the period and were not met by then (written as ix_appeal_timers_missed is)."""
    timer = AppealTimer
    return and_(
        timer.suspended_at.is_(None),
        or_(timer.stopped_at.is_(None), timer.stopped_at > timer.due_at),
        timer.stage.in_((Stage.SIGN, Stage.CONTACT, Stage.REPLY, Stage.MILESTONE)),
        _within(timer.due_at, scope),
        timer.due_at <= scope.now,
    )


def spanned(*, session: Session, scope: Scope) -> Scope:
    """The scope with the span of appeal ids its timers and events belong to (one read of their indexes)."""
    ids = union_all(
        select(AppealTimer.appeal_id.label("appeal_id")).where(_sign_due(scope)),
        select(AppealEvent.appeal_id.label("appeal_id")).where(_visited(scope)),
        select(AppealTimer.appeal_id.label("appeal_id")).where(_missed(scope)),
    ).subquery()
    low, high = session.execute(select(func.min(ids.c.appeal_id), func.max(ids.c.appeal_id))).one()
    return scope if low is None else replace(scope, span=(int(low), int(high)))


# -- the sources: (key, appeal_id, flags...) of one period --


def received(scope: Scope, by: Dimension | None) -> Select[Any]:
    """受理量: appeals received in the period."""
    statement = select(_appeal_key(by).label("key"), Appeal.id.label("appeal_id")).where(
        _within(Appeal.created_at, scope)
    )
    return _in_unit(_keyed(statement, by), scope)


def response(scope: Scope, by: Dimension | None) -> Select[Any]:
    """响应率: limits to sign that fell due in the period (or were met before they did).

    The district's clock is the first 签收 limit from 派单, met by the first 签收 of any unit (returns and
    transfers do not restart it); a unit's clock is each 签收 limit set for that unit, met by its own 签收.
    A unit's limit cancelled in time (returned, or transferred away, before it fell due) is not counted.
    """
    timer = AppealTimer
    due = _sign_due(scope)
    if by == Dimension.UNIT or scope.unit_clock:
        conditions = [
            due,
            or_(timer.due_at <= scope.now, timer.stop_reason == StopReason.MET),
            or_(
                timer.stop_reason.is_(None), timer.stop_reason != StopReason.CANCELLED, timer.stopped_at > timer.due_at
            ),
        ]
        if scope.unit_id is not None:
            conditions.append(timer.unit_id == scope.unit_id)
        limits = (
            select(timer.appeal_id, timer.unit_id, timer.due_at, timer.stopped_at, timer.stop_reason)
            .where(*conditions)
            .cte("sign_limits")
        )
        key = limits.c.unit_id if by == Dimension.UNIT else _appeal_key(by)
        met = and_(limits.c.stop_reason == StopReason.MET, limits.c.stopped_at <= limits.c.due_at)
        statement = select(
            key.label("key"),
            Appeal.id.label("appeal_id"),
            _flag(met).label("on_time"),
            _unless(met).label("late"),
            # Hours to sign count from 派单 to the appeal's first 签收, where the appeal is with the unit now.
            case((limits.c.unit_id == Appeal.unit_id, Appeal.sign_seconds)).label("seconds"),
        )
    else:
        limits = select(timer.appeal_id, timer.due_at).where(due, timer.seq == 1).cte("first_sign_limits")
        met = and_(Appeal.first_signed_at.is_not(None), Appeal.first_signed_at <= limits.c.due_at)
        statement = select(
            _appeal_key(by).label("key"),
            Appeal.id.label("appeal_id"),
            _flag(met).label("on_time"),
            _unless(met).label("late"),
            Appeal.sign_seconds.label("seconds"),
        ).where(or_(limits.c.due_at <= scope.now, Appeal.first_signed_at.is_not(None)))
    return _keyed(statement.select_from(limits).join(Appeal, _joined(limits, scope)), by)


def closed(scope: Scope, by: Dimension | None) -> Select[Any]:
    """按时办结率, 解决率 and the hours to answer and to close: appeals closed in the period."""
    # The appeals with a 答复 limit met late, joined (not probed appeal by appeal: a million probes cost more).
    late = (
        select(AppealTimer.appeal_id)
        .where(
            # Literals, not parameters: the partial index ix_appeal_timers_late_reply matches them.
            AppealTimer.stage == literal_column(f"'{Stage.REPLY}'"),
            AppealTimer.stop_reason == literal_column(f"'{StopReason.MET}'"),
            AppealTimer.stopped_at > AppealTimer.due_at,
        )
        .distinct()
        .subquery("late_replies")
    )
    late_reply = late.c.appeal_id.is_not(None)
    solved = and_(Appeal.outcome == Outcome.SOLVED, Appeal.rating.in_(SATISFIED))
    statement = (
        select(
            _appeal_key(by).label("key"),
            Appeal.id.label("appeal_id"),
            _unless(late_reply).label("on_time"),
            _flag(late_reply).label("late"),
            _flag(solved).label("solved"),
            _unless(solved).label("unsolved"),
            _flag(Appeal.outcome == Outcome.RECTIFIED).label("rectified"),
            Appeal.answer_seconds.label("answer_seconds"),
            Appeal.close_seconds.label("close_seconds"),
        )
        .select_from(Appeal)
        .outerjoin(late, late.c.appeal_id == Appeal.id)
        .where(_within(Appeal.closed_at, scope))
    )
    return _in_unit(_keyed(statement, by), scope)


def visits(scope: Scope, by: Dimension | None) -> Select[Any]:
    """满意率 and 重办率: every 回访 in the period (an appeal reopened and rated again counts again)."""
    event = AppealEvent
    rated = select(event.appeal_id, event.to_state).where(_visited(scope)).cte("visit_events")
    satisfied = and_(rated.c.to_state == AppealState.CLOSED, Appeal.rating.in_(SATISFIED))
    statement = (
        select(
            _appeal_key(by).label("key"),
            Appeal.id.label("appeal_id"),
            _flag(satisfied).label("satisfied"),
            _unless(satisfied).label("dissatisfied"),
            _flag(rated.c.to_state != AppealState.CLOSED).label("reopened"),
        )
        .select_from(rated)
        .join(Appeal, _joined(rated, scope))
    )
    return _in_unit(_keyed(statement, by), scope)


def assigned(scope: Scope, by: Dimension | None, *, office: int | None = None) -> Select[Any]:
    """退回率's denominator: 签收 limits set in the period for a unit other than 区营商办 (派单, 转派, 裁定)."""
    timer = AppealTimer
    key = timer.unit_id if by == Dimension.UNIT else _appeal_key(by)
    statement = (
        select(key.label("key"), timer.appeal_id.label("appeal_id"))
        .select_from(timer)
        .where(timer.stage == Stage.SIGN, _within(timer.started_at, scope))
    )
    if office is not None:
        statement = statement.where(timer.unit_id != office)
    return _in_unit(_keyed(_with_appeal(statement, timer.appeal_id, by), by), scope, timer.unit_id)


def returned(scope: Scope, by: Dimension | None) -> Select[Any]:
    """退回率's numerator: 退回 in the period, by the unit that returned the appeal."""
    event = AppealEvent
    key = event.unit_id if by == Dimension.UNIT else _appeal_key(by)
    statement = (
        select(key.label("key"), event.appeal_id.label("appeal_id"))
        .select_from(event)
        .where(event.action == Action.RETURN, _within(event.at, scope))
    )
    return _in_unit(_keyed(_with_appeal(statement, event.appeal_id, by), by), scope, event.unit_id)


def overdue(scope: Scope, by: Dimension | None) -> Select[Any]:
    """超时件数: appeals with a limit that fell due in the period and was not met by then (not while 挂起).

    A 签收 limit belongs to the unit it was set for; the other limits to the unit handling the appeal now.
    """
    timer = AppealTimer
    missed = select(timer.appeal_id, timer.stage, timer.unit_id).where(_missed(scope)).cte("missed_limits")
    # The owner of a limit other than 签收 is the appeal's unit: read from the appeal, joined only then.
    joined = by is not None or scope.unit_id is not None
    owner: Any = case((missed.c.stage == Stage.SIGN, missed.c.unit_id), else_=Appeal.unit_id) if joined else None
    key: Any = owner if by == Dimension.UNIT else _appeal_key(by)
    statement = select(key.label("key"), missed.c.appeal_id.label("appeal_id")).select_from(missed).distinct()
    if joined:
        statement = statement.join(Appeal, _joined(missed, scope))
    return _in_unit(_keyed(statement, by), scope, owner)


Source = Callable[[Scope, Dimension | None], Select[Any]]
# Each figure: its source and the flag column that selects its appeals (None: every row of the source).
MEASURES: dict[str, tuple[str, str | None]] = {
    "received": ("received", None),
    "response_due": ("response", None),
    "response_on_time": ("response", "on_time"),
    "response_late": ("response", "late"),
    "closed": ("closed", None),
    "closed_on_time": ("closed", "on_time"),
    "closed_late": ("closed", "late"),
    "solved": ("closed", "solved"),
    "unsolved": ("closed", "unsolved"),
    "rectified": ("closed", "rectified"),
    "rated": ("visits", None),
    "satisfied": ("visits", "satisfied"),
    "dissatisfied": ("visits", "dissatisfied"),
    "reopened": ("visits", "reopened"),
    "assigned": ("assigned", None),
    "returned": ("returned", None),
    "overdue": ("overdue", None),
}
MEASURE_LABELS = {
    "received": "受理量",
    "response_due": "应响应",
    "response_on_time": "按时响应",
    "response_late": "未按时响应",
    "closed": "办结",
    "closed_on_time": "按时办结",
    "closed_late": "超时办结",
    "solved": "已解决",
    "unsolved": "未确认解决",
    "rectified": "整改完成",
    "rated": "已评价",
    "satisfied": "满意与基本满意",
    "dissatisfied": "不满意",
    "reopened": "不满意重办",
    "assigned": "派给单位",
    "returned": "退回",
    "overdue": "超时",
}


def _source(name: str, scope: Scope, by: Dimension | None, office: int | None) -> Select[Any]:
    if name == "assigned":
        return assigned(scope, by, office=office)
    sources: dict[str, Source] = {
        "received": received,
        "response": response,
        "closed": closed,
        "visits": visits,
        "returned": returned,
        "overdue": overdue,
    }
    return sources[name](scope, by)


def office_unit(*, session: Session) -> int | None:
    """The id of 区营商办 (the routing table's supervisor_unit), if it exists."""
    setting = session.get(RoutingSetting, "supervisor_unit")
    name = str(setting.value) if setting is not None else "区营商办"
    return session.scalar(select(Unit.id).where(Unit.name == name))


def _hours(value: Any) -> float | None:
    return None if value is None else round(float(value) / 3600, 2)


def figures(*, session: Session, scope: Scope, by: Dimension | None = None) -> dict[Any, Figures]:
    """The figures of every group (one group, "all", when `by` is None), each group read in SQL."""
    office = office_unit(session=session)
    scope = spanned(session=session, scope=scope)
    found: dict[Any, Figures] = {}

    def group(key: Any) -> Figures:
        return found.setdefault(ALL if by is None else key, Figures())

    rows = _source("received", scope, by, office).subquery()
    for key, count in session.execute(select(rows.c.key, func.count()).group_by(rows.c.key)):
        group(key).received = int(count)
    rows = _source("response", scope, by, office).subquery()
    statement = select(rows.c.key, func.count(), func.sum(rows.c.on_time), func.avg(rows.c.seconds))
    for key, due, on_time, seconds in session.execute(statement.group_by(rows.c.key)):
        item = group(key)
        item.response_due, item.response_on_time, item.sign_hours = int(due), int(on_time or 0), _hours(seconds)
    rows = _source("closed", scope, by, office).subquery()
    statement = select(
        rows.c.key,
        func.count(),
        func.sum(rows.c.on_time),
        func.sum(rows.c.solved),
        func.sum(rows.c.rectified),
        func.avg(rows.c.answer_seconds),
        func.avg(rows.c.close_seconds),
    )
    for key, count, on_time, solved, rectified, answer, close in session.execute(statement.group_by(rows.c.key)):
        item = group(key)
        item.closed, item.closed_on_time, item.solved = int(count), int(on_time or 0), int(solved or 0)
        item.rectified, item.answer_hours, item.close_hours = int(rectified or 0), _hours(answer), _hours(close)
    rows = _source("visits", scope, by, office).subquery()
    statement = select(
        rows.c.key, func.count(), func.sum(rows.c.satisfied), func.sum(rows.c.dissatisfied), func.sum(rows.c.reopened)
    )
    for key, rated, satisfied, dissatisfied, reopened in session.execute(statement.group_by(rows.c.key)):
        item = group(key)
        item.rated, item.satisfied = int(rated), int(satisfied or 0)
        item.dissatisfied, item.reopened = int(dissatisfied or 0), int(reopened or 0)
    for name in ("assigned", "returned", "overdue"):
        rows = _source(name, scope, by, office).subquery()
        for key, count in session.execute(select(rows.c.key, func.count()).group_by(rows.c.key)):
            setattr(group(key), name, int(count))
    if by is None:
        found.setdefault(ALL, Figures())
    return found


def total(*, session: Session, scope: Scope) -> Figures:
    """The figures of the whole scope (the district, or one unit on its own clock)."""
    return figures(session=session, scope=scope)[ALL]


def appeal_ids(
    *, session: Session, scope: Scope, measure: str, by: Dimension | None = None, key: Any = ALL
) -> list[int]:
    """The appeals behind one number: the same source and flag as the count, narrowed to one group."""
    source_name, flag = MEASURES[measure]
    scope = spanned(session=session, scope=scope)
    rows = _source(source_name, scope, by, office_unit(session=session)).subquery()
    statement = select(rows.c.appeal_id).distinct()
    if flag is not None:
        statement = statement.where(rows.c[flag] == 1)
    if by is not None:
        statement = statement.where(rows.c.key.is_(None) if key is None else rows.c.key == key)
    return sorted(int(value) for value in session.scalars(statement))


@dataclass
class Named:
    """Group keys with the names people read (units, categories, streets, seed tasks)."""

    names: dict[Any, str] = field(default_factory=dict)

    def __call__(self, key: Any) -> str:
        return self.names.get(key, "未填写" if key in (None, "") else str(key))


def names(*, session: Session, by: Dimension) -> Named:
    """What to call each group key of a dimension."""
    if by in (Dimension.UNIT, Dimension.STREET):
        return Named(dict(session.execute(select(Unit.id, Unit.name)).all()))
    if by == Dimension.CATEGORY:
        return Named(
            {
                row.id: f"{row.code} {row.name}"
                for row in session.execute(select(Category.id, Category.code, Category.name))
            }
        )
    return Named({task: f"任务 {task}" for task in session.scalars(select(Category.seed_task).distinct()) if task})
