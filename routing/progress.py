"""The progress answer an enterprise reads: state, unit, the 答复期限, and the last thing staff did, in plain words.

"区审批局已于 12月1日 签收，正在办理；答复期限 12月9日 18:00" — not the internal 签收 deadline: the enterprise
was promised an answer date at filing, and that (moved only by 挂起, 延期 or a reopening) is what it sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.calendar import WorkCalendar
from routing.models import (
    Action,
    ActorRole,
    Appeal,
    AppealEvent,
    AppealState,
    AppealTimer,
    Category,
    Stage,
    Unit,
)
from routing.rules import load_calendar

# Transitions the enterprise is told about; the enterprise's own steps and internal ones are not "progress".
SHOWN = (
    Action.DISPATCH, Action.SIGN, Action.CONTACT, Action.MESSAGE, Action.PHONE, Action.SUSPEND, Action.RESUME,
    Action.TRANSFER, Action.ARBITRATE, Action.RETURN, Action.PLAN, Action.REPORT_MILESTONE, Action.ANSWER,
    Action.VISIT, Action.CLOSE, Action.DECIDE_EXTENSION, Action.RECATEGORIZE,
)  # fmt: skip
NOT_FOUND = "没有找到您提交的编号为 {reference} 的诉求，请核对编号。"
NONE = "您目前没有在办的诉求。如需反映问题，请直接描述您遇到的情况。"


def day_text(moment: datetime, calendar: WorkCalendar) -> str:
    local = moment.astimezone(calendar.zone)
    return f"{local.month}月{local.day}日"


def due_text(moment: datetime, calendar: WorkCalendar) -> str:
    local = moment.astimezone(calendar.zone)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


@dataclass(frozen=True)
class Said:
    """One logged step as the sentence builder needs it."""

    event: AppealEvent
    unit: str
    day: str


SENTENCES: dict[Action, Callable[[Said], str]] = {
    Action.DISPATCH: lambda s: f"已于 {s.day} 受理并派给{s.unit}，等待签收",
    Action.SIGN: lambda s: f"{s.unit}已于 {s.day} 签收，正在办理",
    Action.CONTACT: lambda s: f"{s.unit}已于 {s.day} 与您联系，正在办理",
    Action.PHONE: lambda s: f"{s.unit}已于 {s.day} 与您电话联系，正在办理",
    Action.MESSAGE: lambda s: f"{s.unit}已于 {s.day} 回复您，正在办理",
    Action.SUSPEND: lambda s: f"{s.unit}于 {s.day} 请您补充：{s.event.reason}",
    Action.RESUME: lambda s: f"{s.unit}已于 {s.day} 恢复办理",
    Action.TRANSFER: lambda s: f"已于 {s.day} 转由{s.event.data.get('unit') or s.unit}办理，等待签收",
    Action.ARBITRATE: lambda s: f"已于 {s.day} 确定由{s.event.data.get('unit') or s.unit}办理，等待签收",
    Action.RETURN: lambda s: f"已于 {s.day} 交回{s.unit}重新确定办理单位",
    Action.PLAN: lambda s: f"{s.unit}已于 {s.day} 制定整改计划，正在整改",
    Action.REPORT_MILESTONE: lambda s: f"{s.unit}已于 {s.day} 报告整改第 {s.event.data.get('position')} 项进展",
    Action.ANSWER: lambda s: f"{s.unit}已于 {s.day} 答复，等待您评价",
    Action.CLOSE: lambda s: f"已于 {s.day} 办结",
    Action.DECIDE_EXTENSION: lambda s: f"经批准，已于 {s.day} 延长办理时限",
    Action.RECATEGORIZE: lambda s: f"已于 {s.day} 调整为“{s.event.data.get('category_name', '')}”类办理",
}


def _sentence(said: Said) -> str:
    event = said.event
    if event.action == Action.VISIT:
        if event.data.get("reopened"):
            return f"已于 {said.day} 按您的评价重新交{said.unit}办理"
        return f"已于 {said.day} 办结（评价：{event.data.get('rating') or ''}）"
    if event.action == Action.DECIDE_EXTENSION and not event.data.get("approved"):
        return ""
    return SENTENCES[event.action](said)


def _deadline(appeal: Appeal, timers: list[AppealTimer], calendar: WorkCalendar) -> str:
    if appeal.state in {AppealState.ANSWERED, AppealState.CLOSED}:
        return ""
    reply = [timer for timer in timers if timer.stage == Stage.REPLY and timer.stopped_at is None]
    if appeal.state == AppealState.RECTIFYING:
        milestones = [timer for timer in timers if timer.stage == Stage.MILESTONE and timer.stopped_at is None]
        if milestones:
            return f"下一整改节点 {day_text(milestones[0].due_at, calendar)}"
    if not reply:
        return ""
    if reply[-1].suspended_at is not None:
        return "等待您补充期间暂停计时"
    flag = "（暂定）" if reply[-1].provisional else ""
    return f"答复期限 {due_text(reply[-1].due_at, calendar)}{flag}"


def describe(*, session: Session, appeal: Appeal, calendar: WorkCalendar) -> str:
    """One appeal's progress block: reference and category, state and unit, the last step and the deadline."""
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    unit = units.get(appeal.unit_id, "")
    category = session.scalar(select(Category.name).where(Category.id == appeal.category_id)) or ""
    last = session.scalar(
        select(AppealEvent)
        .where(
            AppealEvent.appeal_id == appeal.id,
            AppealEvent.action.in_(SHOWN),
            AppealEvent.actor_role != ActorRole.ENTERPRISE,
        )
        .order_by(AppealEvent.id.desc())
        .limit(1)
    )
    timers = list(
        session.scalars(select(AppealTimer).where(AppealTimer.appeal_id == appeal.id).order_by(AppealTimer.id))
    )
    step = ""
    if last is not None:
        own = last.actor_role in {ActorRole.STAFF, ActorRole.UNIT_HEAD} and last.unit_id in units
        actor_unit = units[last.unit_id] if own and last.unit_id is not None else last.data.get("unit") or unit
        step = _sentence(Said(last, str(actor_unit), day_text(last.at, calendar)))
    deadline = _deadline(appeal, timers, calendar)
    lines = [f"{appeal.reference}（{category}）", f"状态：{appeal.state.label}　承办单位：{unit}"]
    news = "；".join(part for part in (step, deadline) if part)
    if news:
        lines.append(news)
    return "\n".join(lines)


def progress(*, session: Session, openid: str, reference: str | None, limit: int = 5) -> str:
    """The progress answer: the appeal of this reference if it is the enterprise's own, else its latest ones."""
    calendar = load_calendar(session=session)
    if reference:
        appeal = session.scalar(select(Appeal).where(Appeal.reference == reference.strip().upper()))
        if appeal is None or appeal.openid != openid:
            return NOT_FOUND.format(reference=reference)
        return describe(session=session, appeal=appeal, calendar=calendar)
    appeals = list(session.scalars(select(Appeal).where(Appeal.openid == openid).order_by(Appeal.id.desc()).limit(50)))
    if not appeals:
        return NONE
    appeals.sort(key=lambda appeal: (appeal.state == AppealState.CLOSED, -appeal.id))
    return "\n\n".join(describe(session=session, appeal=appeal, calendar=calendar) for appeal in appeals[:limit])
