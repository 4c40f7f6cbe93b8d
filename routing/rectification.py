"""整改计划: for what cannot be solved quickly, dated milestones, each reported to the enterprise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import notify, timers
from routing.lifecycle import Actor, Refused, begin, require_text, require_unit
from routing.models import Action, Appeal, AppealState, Milestone, NoticeEvent, Stage, StopReason

MAX_HORIZON = timedelta(days=366)


def file_plan(
    *,
    session: Session,
    appeal_id: int,
    actor: Actor,
    milestones: Sequence[tuple[str, date]],
    note: str = "",
    now: datetime | None = None,
) -> Appeal:
    """File a rectification plan: the reply limit is met by the plan, each milestone gets its own clock."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.PLAN, actor=actor, now=now)
    require_unit(step)
    if not milestones:
        raise Refused("整改计划至少需要一个时间节点")
    today = step.calendar.local_date(step.now)
    previous = today
    for title, due in milestones:
        require_text(title, "整改节点名称")
        if due <= today:
            raise Refused(f"整改节点「{title}」的日期 {due:%Y-%m-%d} 应晚于今天")
        if due < previous:
            raise Refused(f"整改节点应按日期先后排列：「{title}」的日期 {due:%Y-%m-%d} 早于上一节点")
        if due - today > MAX_HORIZON:
            raise Refused(f"整改节点「{title}」的日期 {due:%Y-%m-%d} 超过一年，请分阶段制定计划")
        previous = due
    timers.stop(session=session, appeal_id=appeal_id, stage=Stage.REPLY, now=step.now)
    # A plan after a reopening continues the numbering; milestone timers are numbered alike (seq == position).
    numbers = session.scalars(select(Milestone.position).where(Milestone.appeal_id == appeal_id)).all()
    first = 1 + max(numbers, default=0)
    for position, (title, due) in enumerate(milestones, start=first):
        session.add(Milestone(appeal_id=appeal_id, position=position, title=title.strip(), due_on=due))
        timers.start(
            session=session,
            appeal_id=appeal_id,
            stage=Stage.MILESTONE,
            amount=due.toordinal(),
            unit="D",
            calendar=step.calendar,
            levels=step.rules.levels,
            now=step.now,
            unit_id=step.appeal.unit_id,
        )
    step.move(AppealState.RECTIFYING, reason=note, milestones=[[title, due.isoformat()] for title, due in milestones])
    step.tell(NoticeEvent.PLAN, notify.plan_text(step.appeal, milestones=milestones))
    return step.appeal


def report_milestone(
    *, session: Session, appeal_id: int, actor: Actor, position: int, progress: str, now: datetime | None = None
) -> Milestone:
    """Report a milestone's progress to the enterprise; its clock stops."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.REPORT_MILESTONE, actor=actor, now=now)
    require_unit(step)
    progress = require_text(progress, "整改进展")
    milestone = session.scalar(
        select(Milestone).where(Milestone.appeal_id == appeal_id, Milestone.position == position)
    )
    if milestone is None:
        raise Refused(f"整改计划中没有第 {position} 个节点")
    if milestone.reported_at is not None:
        raise Refused(f"第 {position} 个节点「{milestone.title}」的进展已经报告过")
    milestone.progress, milestone.reported_at = progress, step.now
    for timer in timers.running(session=session, appeal_id=appeal_id, stage=Stage.MILESTONE):
        if timer.seq == position:
            timer.stopped_at, timer.stop_reason, timer.next_fire_at = step.now, StopReason.MET, None
    step.move(AppealState.RECTIFYING, reason=progress, position=position)
    step.tell(NoticeEvent.MILESTONE, notify.milestone_text(step.appeal, milestone=milestone))
    return milestone
