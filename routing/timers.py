"""Timers of an appeal as rows: start, stop, suspend, resume, extend, and recompute after calendar changes.

A timer's escalation times are stored (`fire_times`, `next_fire_at`) so that the sweep only reads
an index; they are recomputed here whenever the clock or the calendar changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.calendar import WorkCalendar
from routing.deadlines import Clock, limit_seconds
from routing.models import AppealTimer, Stage, StopReason
from routing.rules import Level, load_rules


def clock_of(timer: AppealTimer) -> Clock:
    """The pure clock behind a timer row."""
    return Clock(timer.started_at, timer.total_seconds, timer.paused_seconds, timer.suspended_at)


def schedule(timer: AppealTimer, *, calendar: WorkCalendar, levels: Sequence[Level]) -> None:
    """Derive the due time, the escalation times and the next one to fire from the timer's clock."""
    clock = clock_of(timer)
    fire = [clock.point(calendar, level.percent) for level in levels]
    timer.fire_times = [moment.isoformat() for moment in fire]
    timer.due_at = clock.point(calendar, 100)
    timer.provisional = calendar.provisional(timer.started_at, timer.due_at)
    running = timer.stopped_at is None and timer.suspended_at is None and timer.next_level <= len(fire)
    timer.next_fire_at = fire[timer.next_level - 1] if running else None


def start(
    *,
    session: Session,
    appeal_id: int,
    stage: Stage,
    amount: int,
    unit: str,
    calendar: WorkCalendar,
    levels: Sequence[Level],
    now: datetime,
    unit_id: int | None = None,
) -> AppealTimer:
    """Start a limit now (whole seconds, so that working-time sums are exact); numbered per appeal and stage."""
    started = now.replace(microsecond=0)
    seq = 1 + max(
        session.scalars(
            select(AppealTimer.seq).where(AppealTimer.appeal_id == appeal_id, AppealTimer.stage == stage)
        ).all(),
        default=0,
    )
    timer = AppealTimer(
        appeal_id=appeal_id,
        stage=stage,
        seq=seq,
        unit_id=unit_id,
        amount=amount,
        unit=unit,
        started_at=started,
        total_seconds=limit_seconds(calendar, start=started, amount=amount, unit=unit),
        paused_seconds=0,
        next_level=1,
    )
    schedule(timer, calendar=calendar, levels=levels)
    session.add(timer)
    session.flush()
    return timer


def running(*, session: Session, appeal_id: int, stage: Stage | None = None) -> list[AppealTimer]:
    """The appeal's timers not stopped (of one stage, if given), oldest first."""
    statement = select(AppealTimer).where(AppealTimer.appeal_id == appeal_id, AppealTimer.stopped_at.is_(None))
    if stage is not None:
        statement = statement.where(AppealTimer.stage == stage)
    return list(session.scalars(statement.order_by(AppealTimer.id)))


def stop(
    *, session: Session, appeal_id: int, stage: Stage, now: datetime, reason: StopReason = StopReason.MET
) -> list[AppealTimer]:
    """Stop the running timers of a stage: met (the step was done) or cancelled (no longer applies)."""
    stopped = running(session=session, appeal_id=appeal_id, stage=stage)
    for timer in stopped:
        timer.stopped_at, timer.stop_reason, timer.next_fire_at = now, reason, None
    return stopped


def stop_all(*, session: Session, appeal_id: int, now: datetime) -> None:
    """Cancel whatever still runs: a closed appeal escalates nothing."""
    for timer in running(session=session, appeal_id=appeal_id):
        timer.stopped_at, timer.stop_reason, timer.next_fire_at = now, StopReason.CANCELLED, None


def suspend(*, session: Session, appeal_id: int, now: datetime) -> None:
    """Pause every running timer of the appeal (挂起)."""
    for timer in running(session=session, appeal_id=appeal_id):
        timer.suspended_at = timer.suspended_at or now
        timer.next_fire_at = None


def resume(*, session: Session, appeal_id: int, now: datetime, calendar: WorkCalendar, levels: Sequence[Level]) -> None:
    """Restart the paused timers, pushing every escalation by the working time spent suspended."""
    for timer in running(session=session, appeal_id=appeal_id):
        clock = clock_of(timer).resume(calendar, at=now)
        timer.paused_seconds, timer.suspended_at = clock.paused, None
        schedule(timer, calendar=calendar, levels=levels)


def extend(
    *, timer: AppealTimer, amount: int, calendar: WorkCalendar, levels: Sequence[Level], unit: str | None = None
) -> None:
    """Give a timer a new limit (延期 approved, or a new category's), counted from its original start."""
    timer.amount = amount
    timer.unit = unit or timer.unit
    timer.total_seconds = limit_seconds(calendar, start=timer.started_at, amount=amount, unit=timer.unit)
    schedule(timer, calendar=calendar, levels=levels)


def recompute(*, session: Session, calendar: WorkCalendar, now: datetime, only_provisional: bool) -> int:
    """Recompute running timers after the calendar, working hours or ladder changed; how many changed."""
    levels = load_rules(session=session).levels
    statement = select(AppealTimer).where(AppealTimer.stopped_at.is_(None))
    if only_provisional:
        statement = statement.where(AppealTimer.provisional.is_(True))
    changed = 0
    for timer in session.scalars(statement):
        before = (timer.due_at, timer.next_fire_at, timer.provisional)
        timer.total_seconds = limit_seconds(calendar, start=timer.started_at, amount=timer.amount, unit=timer.unit)
        timer.next_level = min(timer.next_level, len(levels) + 1)
        schedule(timer, calendar=calendar, levels=levels)
        changed += before != (timer.due_at, timer.next_fire_at, timer.provisional)
    session.flush()
    return changed
