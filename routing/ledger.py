"""The monthly 工作台账 (seed 三(二)): every appeal a unit handled in the month, one row each, until 销号;
its confirmation (确认上报) by the unit head before the 20th of the next month, and who has not reported.

An appeal is on a month's ledger when it was open at some moment of the month: received before the month
ended and not closed before it began. It is on the ledger of the unit handling it now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.indicators import Scope
from routing.lifecycle import Refused
from routing.models import (
    OUTCOME_LABELS,
    Appeal,
    AppealTimer,
    Category,
    Milestone,
    Unit,
)
from routing.report_models import LedgerReminder, LedgerReport
from routing.rules import load_rules

DEADLINE_DAY = 20  # 每月20日前
REMINDER_DAYS = (15, 18)
COLUMNS = (
    "编号", "受理时间", "企业", "类别", "对应任务", "内容摘要", "承办单位", "协办单位", "状态",
    "签收时间", "答复时间", "办结时间", "是否超时", "满意度", "整改措施", "备注",
)  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One row of the ledger (times are aware UTC; the file writer shows them in the district's zone)."""

    reference: str
    received_at: datetime
    enterprise: str
    category: str
    seed_task: str
    summary: str
    unit: str
    co_units: str
    state: str
    signed_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    late: bool
    rating: str
    measures: str
    note: str


def _on_ledger(scope: Scope) -> Any:
    return and_(Appeal.created_at < scope.end, or_(Appeal.closed_at.is_(None), Appeal.closed_at >= scope.start))


def _missed(moment: datetime) -> Any:
    """Any limit of the appeal not met by its due time (as of `moment`; not while 挂起)."""
    timer = AppealTimer
    return (
        select(timer.id)
        .where(
            timer.appeal_id == Appeal.id,
            timer.due_at <= moment,
            timer.suspended_at.is_(None),
            or_(timer.stopped_at.is_(None), timer.stopped_at > timer.due_at),
        )
        .exists()
    )


def entries(*, session: Session, scope: Scope) -> list[Entry]:
    """The ledger of the scope's month (one unit's with `scope.unit_id`), oldest first."""
    rules = load_rules(session=session)
    reasons = {reason.code: reason.name for reason in rules.dissatisfaction_reasons}
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    moment = min(scope.end, scope.now)
    statement = (
        select(Appeal, Category.code, Category.name, Category.seed_task, _missed(moment).label("late"))
        .join(Category, Category.id == Appeal.category_id)
        .where(_on_ledger(scope))
        .order_by(Appeal.created_at, Appeal.id)
    )
    if scope.unit_id is not None:
        statement = statement.where(Appeal.unit_id == scope.unit_id)
    rows = session.execute(statement).all()
    plans: dict[int, list[str]] = {}
    ids = [row[0].id for row in rows]
    for item in session.scalars(select(Milestone).where(Milestone.appeal_id.in_(ids)).order_by(Milestone.position)):
        done = f"（{item.progress}）" if item.progress else "（未报告）"
        plans.setdefault(item.appeal_id, []).append(f"{item.due_on:%m-%d} {item.title}{done}")
    found = []
    for appeal, code, name, task, late in rows:
        notes = []
        if appeal.outcome is not None:
            notes.append(OUTCOME_LABELS[appeal.outcome])
        if appeal.rating_reason:
            notes.append("不满意原因：" + reasons.get(appeal.rating_reason, appeal.rating_reason))
        if appeal.returns:
            notes.append(f"退回 {appeal.returns} 次")
        found.append(
            Entry(
                reference=appeal.reference,
                received_at=appeal.created_at,
                enterprise=appeal.enterprise,
                category=f"{code} {name}",
                seed_task=task,
                summary=appeal.description if len(appeal.description) <= 80 else appeal.description[:79] + "…",
                unit=units.get(appeal.unit_id, ""),
                co_units="、".join(appeal.co_units or []),
                state=appeal.state.label,
                signed_at=appeal.first_signed_at,
                answered_at=appeal.answered_at,
                closed_at=appeal.closed_at,
                late=bool(late),
                rating=appeal.rating.label if appeal.rating else "",
                measures="；".join(plans.get(appeal.id, [])),
                note="；".join(notes),
            )
        )
    return found


def deadline(month_first: date) -> date:
    """The day a month's ledger is due: the 20th of the month after."""
    following = date(month_first.year + month_first.month // 12, month_first.month % 12 + 1, 1)
    return following.replace(day=DEADLINE_DAY)


@dataclass(frozen=True)
class Reporting:
    """Where one unit stands with a month's ledger."""

    unit_id: int
    unit: str
    appeals: int
    confirmed_by: str | None
    confirmed_at: datetime | None
    late: bool
    reminders: tuple[int, ...]


def reporting(*, session: Session, scope: Scope, month: str, due: date, timezone: Any) -> list[Reporting]:
    """Every unit with appeals on the month's ledger (or a confirmation): reported or not, and reminders sent."""
    counted = dict(
        session.execute(select(Appeal.unit_id, func.count()).where(_on_ledger(scope)).group_by(Appeal.unit_id)).all()
    )
    reports = {row.unit_id: row for row in session.scalars(select(LedgerReport).where(LedgerReport.month == month))}
    sent: dict[int, list[int]] = {}
    for unit_id, day in session.execute(
        select(LedgerReminder.unit_id, LedgerReminder.day).where(LedgerReminder.month == month)
    ):
        sent.setdefault(unit_id, []).append(day)
    found = []
    for unit in session.scalars(select(Unit).where(Unit.id.in_({*counted, *reports})).order_by(Unit.id)):
        report = reports.get(unit.id)
        confirmed = report.confirmed_at if report else None
        found.append(
            Reporting(
                unit_id=unit.id,
                unit=unit.name,
                appeals=int(counted.get(unit.id, 0)),
                confirmed_by=report.confirmed_by if report else None,
                confirmed_at=confirmed,
                late=confirmed is not None and confirmed.astimezone(timezone).date() > due,
                reminders=tuple(sorted(sent.get(unit.id, []))),
            )
        )
    return found


def confirm(
    *, session: Session, scope: Scope, month: str, unit_id: int, username: str, note: str = "", now: datetime
) -> LedgerReport:
    """确认上报 a unit's ledger of a month that has ended; once per unit and month."""
    if now < scope.end:
        raise Refused(f"{month} 尚未结束，月末之后才能确认上报当月台账")
    if session.scalar(select(LedgerReport).where(LedgerReport.month == month, LedgerReport.unit_id == unit_id)):
        raise Refused(f"{month} 的台账已确认上报，不能重复上报")
    count = session.scalar(select(func.count()).select_from(Appeal).where(_on_ledger(scope), Appeal.unit_id == unit_id))
    report = LedgerReport(
        month=month, unit_id=unit_id, appeals=int(count or 0), note=note.strip()[:1000], confirmed_by=username,
        confirmed_at=now,
    )  # fmt: skip
    session.add(report)
    session.flush()
    return report


def claim_reminder(*, session: Session, month: str, unit_id: int, day: int, now: datetime) -> bool:
    """Record that the day's reminder goes to the unit; False if it went already (exactly once, by a unique key)."""
    taken = exists().where(LedgerReminder.month == month, LedgerReminder.unit_id == unit_id, LedgerReminder.day == day)
    if session.scalar(select(taken)):
        return False
    try:
        with session.begin_nested():
            session.add(LedgerReminder(month=month, unit_id=unit_id, day=day, sent_at=now, webhook=""))
    except IntegrityError:  # another worker claimed it between the check and the insert
        return False
    return True
