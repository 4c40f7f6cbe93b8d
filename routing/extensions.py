"""延期: the handling unit asks for more time before the reply deadline; 区营商办 approves or rejects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import notify, timers
from routing.deadlines import describe_limit
from routing.lifecycle import Actor, Refused, begin, require_supervisor, require_text, require_unit
from routing.models import Action, Appeal, ExtensionRequest, NoticeEvent, Stage


def pending(*, session: Session, appeal_id: int) -> ExtensionRequest | None:
    """The request waiting for a decision, if any."""
    return session.scalar(
        select(ExtensionRequest).where(ExtensionRequest.appeal_id == appeal_id, ExtensionRequest.approved.is_(None))
    )


def request_extension(
    *, session: Session, appeal_id: int, actor: Actor, days: int, reason: str, now: datetime | None = None
) -> ExtensionRequest:
    """Ask for `days` more working days to answer; only before the reply deadline, one request at a time."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.REQUEST_EXTENSION, actor=actor, now=now)
    require_unit(step)
    reason = require_text(reason, "延期理由")
    reply = timers.running(session=session, appeal_id=appeal_id, stage=Stage.REPLY)
    if not reply:
        raise Refused("没有正在计时的答复时限，无需延期")
    timer = reply[-1]
    deadline = timers.clock_of(timer).deadline(step.calendar, now=step.now)
    if step.now >= deadline:
        local = deadline.astimezone(step.calendar.zone)
        raise Refused(f"答复时限已过（截止 {local:%Y-%m-%d %H:%M}），不能再申请延期，请尽快办理")
    if pending(session=session, appeal_id=appeal_id) is not None:
        raise Refused(f"已有一项延期申请待{step.rules.supervisor_unit}审批")
    if timer.unit != "d":
        raise Refused(f"答复时限为 {describe_limit(timer.amount, timer.unit)}，不能按工作日延期")
    room = step.rules.reply_max_days - timer.amount
    if not 0 < days <= room:
        raise Refused(
            f"延期后的答复时限不能超过 {step.rules.reply_max_days} 个工作日"
            f"（现为 {timer.amount} 个工作日，最多还可延期 {max(room, 0)} 个工作日）"
        )
    request = ExtensionRequest(
        appeal_id=appeal_id, days=days, reason=reason, requested_by=actor.name, requested_at=step.now, decision=""
    )
    session.add(request)
    step.move(step.appeal.state, reason=reason, days=days)
    session.flush()
    return request


def decide_extension(
    *, session: Session, appeal_id: int, actor: Actor, approve: bool, note: str = "", now: datetime | None = None
) -> Appeal:
    """区营商办 approves (the reply limit grows, the enterprise is told the new date) or rejects (with a reason)."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.DECIDE_EXTENSION, actor=actor, now=now)
    require_supervisor(step)
    request = pending(session=session, appeal_id=appeal_id)
    if request is None:
        raise Refused("没有待审批的延期申请")
    if not approve:
        note = require_text(note, "驳回理由")
    request.approved, request.decided_by, request.decided_at, request.decision = approve, actor.name, step.now, note
    if approve:
        reply = timers.running(session=session, appeal_id=appeal_id, stage=Stage.REPLY)
        if not reply:
            raise Refused("答复时限已不在计时，无需延期")
        timer = reply[-1]
        timers.extend(timer=timer, amount=timer.amount + request.days, calendar=step.calendar, levels=step.rules.levels)
        step.move(step.appeal.state, reason=note or request.reason, approved=True, days=request.days)
        step.tell(NoticeEvent.EXTENDED, notify.extended_text(step.appeal, due_at=timer.due_at, calendar=step.calendar))
    else:
        step.move(step.appeal.state, reason=note, approved=False, days=request.days)
    return step.appeal
