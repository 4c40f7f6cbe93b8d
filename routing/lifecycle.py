"""The appeal lifecycle: states, who may do what from which state, and the logged transitions.

受理 → 派单 → 签收 → 办理 → 答复 → 回访 → 办结, with 退回, 转派, 裁定, 挂起, 延期 and 整改计划 beside the
main line (routing.dispatch, routing.extensions, routing.rectification). Every transition writes an
AppealEvent (who, when, why); an illegal one raises Refused with a message staff can read.
Callers own the transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import examples, notify, timers
from routing.calendar import WorkCalendar
from routing.models import (
    ACTION_LABELS,
    STATE_LABELS,
    Action,
    ActorRole,
    Appeal,
    AppealEvent,
    AppealState,
    Category,
    Milestone,
    NoticeEvent,
    Outcome,
    Rating,
    Stage,
    Unit,
)
from routing.rules import Rules, limit_for, load_calendar, load_rules

# The states (AppealState) and actions (Action) with their Chinese labels; routing.models defines them.
STATES = STATE_LABELS
ACTIONS = ACTION_LABELS
# Signed for and not answered yet: the unit is working on it.
WORKING = (AppealState.SIGNED, AppealState.HANDLING, AppealState.SUSPENDED, AppealState.RECTIFYING)
# The states each action may start from.
ALLOWED: dict[Action, tuple[AppealState, ...]] = {
    Action.DISPATCH: (AppealState.RECEIVED,),
    Action.SIGN: (AppealState.DISPATCHED,),
    Action.CONTACT: (AppealState.SIGNED,),
    Action.RETURN: (AppealState.DISPATCHED,),
    Action.TRANSFER: (AppealState.DISPATCHED, AppealState.SIGNED, AppealState.HANDLING, AppealState.RETURNED),
    Action.ARBITRATE: (AppealState.ARBITRATION,),
    Action.SUSPEND: (AppealState.SIGNED, AppealState.HANDLING),
    Action.RESUME: (AppealState.SUSPENDED,),
    Action.REQUEST_EXTENSION: (AppealState.SIGNED, AppealState.HANDLING, AppealState.SUSPENDED),
    Action.DECIDE_EXTENSION: (AppealState.SIGNED, AppealState.HANDLING, AppealState.SUSPENDED),
    Action.PLAN: (AppealState.HANDLING,),
    Action.REPORT_MILESTONE: (AppealState.RECTIFYING,),
    Action.ANSWER: (AppealState.HANDLING, AppealState.RECTIFYING),
    Action.VISIT: (AppealState.ANSWERED,),
    Action.CLOSE: (AppealState.ANSWERED,),
    # Staff talk to the enterprise once they have signed for the appeal (routing.conversation).
    Action.MESSAGE: (*WORKING, AppealState.ANSWERED),
    Action.PHONE: (*WORKING, AppealState.ANSWERED),
    # What the enterprise sends back in the chat (routing.enterprise_replies).
    Action.SUPPLEMENT: (AppealState.SUSPENDED,),
    Action.ENTERPRISE_MESSAGE: (*WORKING, AppealState.ANSWERED),
    Action.CONFIRM_MILESTONE: (AppealState.RECTIFYING, AppealState.ANSWERED),
    # 区营商办 corrects the category of any appeal not closed yet (routing.dispatch.recategorize).
    Action.RECATEGORIZE: tuple(state for state in AppealState if state != AppealState.CLOSED),
    Action.REMIND_RATING: (AppealState.ANSWERED,),
}
# Why an action is refused from a state, where the generic message would not help.
HINTS: dict[tuple[Action, AppealState], str] = {
    (Action.RETURN, AppealState.SIGNED): "已签收的诉求不能退回；如确非本单位职责，请联系区营商办转派",
    (Action.RETURN, AppealState.HANDLING): "已签收的诉求不能退回；如确非本单位职责，请联系区营商办转派",
    (Action.ANSWER, AppealState.SIGNED): "请先联系企业（办理）后再答复",
    (Action.ANSWER, AppealState.DISPATCHED): "请先签收并联系企业后再答复",
    (Action.CONTACT, AppealState.DISPATCHED): "请先签收",
    (Action.PLAN, AppealState.SIGNED): "请先联系企业（办理）后再提交整改计划",
    (Action.VISIT, AppealState.HANDLING): "诉求尚未答复，还不能评价",
    (Action.MESSAGE, AppealState.DISPATCHED): "请先签收",
    (Action.PHONE, AppealState.DISPATCHED): "请先签收",
}
RATINGS = tuple(Rating)


class Refused(ValueError):
    """An action that is not allowed; the message says why, in words staff and enterprises read."""


@dataclass(frozen=True)
class Actor:
    """Who acts: an enterprise (openid), staff of a unit, a unit head, 区营商办 (supervisor), or the system."""

    role: ActorRole
    name: str
    unit_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorRole.SYSTEM, "system")

    @classmethod
    def enterprise(cls, openid: str) -> Actor:
        return cls(ActorRole.ENTERPRISE, openid)


@dataclass
class Step:
    """One action under way: the locked appeal, the rules and calendar in force, and the time."""

    session: Session
    appeal: Appeal
    action: Action
    actor: Actor
    now: datetime
    _rules: Rules | None = field(default=None, repr=False)
    _calendar: WorkCalendar | None = field(default=None, repr=False)

    @property
    def rules(self) -> Rules:
        if self._rules is None:
            self._rules = load_rules(session=self.session)
        return self._rules

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = load_calendar(session=self.session)
        return self._calendar

    def unit_name(self, unit_id: int | None) -> str:
        unit = self.session.get(Unit, unit_id) if unit_id is not None else None
        return unit.name if unit else ""

    def supervisor_unit(self) -> Unit:
        unit = self.session.scalar(select(Unit).where(Unit.name == self.rules.supervisor_unit))
        if unit is None:
            raise Refused(f"路由表中没有督办单位「{self.rules.supervisor_unit}」，请管理员补充")
        return unit

    def move(
        self,
        to_state: AppealState,
        *,
        reason: str = "",
        reason_code: str | None = None,
        created: bool = False,
        **data: Any,
    ) -> None:
        """Change the state (or keep it) and log the transition; `created` for the first one (from nothing)."""
        from_state = None if created else self.appeal.state
        self.appeal.state = to_state
        self.appeal.updated_at = self.now
        self.session.add(
            AppealEvent(
                appeal_id=self.appeal.id,
                action=self.action,
                from_state=from_state,
                to_state=to_state,
                actor=self.actor.name,
                actor_role=self.actor.role,
                unit_id=self.actor.unit_id,
                reason_code=reason_code,
                reason=reason,
                data=data,
                at=self.now,
            )
        )

    def tell(self, event: NoticeEvent, text: str) -> None:
        """Queue a message to the enterprise about this step."""
        notify.tell_enterprise(session=self.session, appeal=self.appeal, event=event, text=text, now=self.now)

    def start_timer(self, stage: Stage) -> None:
        """Start a stage's limit for this appeal's category and urgency, from now."""
        amount, unit = limit_for(
            session=self.session, category_code=self.category_code(), urgency=self.appeal.urgency, stage=stage
        )
        timers.start(
            session=self.session,
            appeal_id=self.appeal.id,
            stage=stage,
            amount=amount,
            unit=unit,
            calendar=self.calendar,
            levels=self.rules.levels,
            now=self.now,
            unit_id=self.appeal.unit_id,
        )

    def working_seconds(self) -> int | None:
        """Working seconds from 派单 to now (None before dispatch), for the indicators."""
        start = self.appeal.dispatched_at
        return self.calendar.between(start, self.now) if start is not None else None

    def category_code(self) -> str:
        category = self.session.get(Category, self.appeal.category_id)
        return category.code if category else "*"


def now_utc() -> datetime:
    return datetime.now(UTC)


def begin(*, session: Session, appeal_id: int, action: Action, actor: Actor, now: datetime | None = None) -> Step:
    """Lock the appeal (FOR UPDATE on PostgreSQL) and check that `action` may start from its state."""
    appeal = session.scalar(select(Appeal).where(Appeal.id == appeal_id).with_for_update())
    if appeal is None:
        raise Refused("没有这件诉求")
    allowed = ALLOWED.get(action, ())
    if appeal.state not in allowed:
        hint = HINTS.get((action, appeal.state))
        message = f"诉求 {appeal.reference} 当前为「{appeal.state.label}」，不能{action.label}"
        raise Refused(f"{message}：{hint}" if hint else message)
    return Step(session=session, appeal=appeal, action=action, actor=actor, now=now or now_utc())


def require_unit(step: Step) -> None:
    """Only the unit now handling the appeal may act on it."""
    if step.actor.role == ActorRole.SYSTEM:
        return
    if step.actor.unit_id is None or step.actor.unit_id != step.appeal.unit_id:
        unit = step.unit_name(step.appeal.unit_id)
        raise Refused(f"诉求 {step.appeal.reference} 由{unit}办理，您所在单位不能{step.action.label}")


def require_supervisor(step: Step) -> None:
    """Only 区营商办 (the supervisor role) may decide."""
    if step.actor.role not in {ActorRole.SUPERVISOR, ActorRole.SYSTEM}:
        raise Refused(f"只有{step.rules.supervisor_unit}可以{step.action.label}")


def require_text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise Refused(f"{what}不能为空")
    return text


def sign(*, session: Session, appeal_id: int, actor: Actor, now: datetime | None = None) -> Appeal:
    """签收: the handling unit takes the appeal; the enterprise is told which unit."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.SIGN, actor=actor, now=now)
    require_unit(step)
    timers.stop(session=session, appeal_id=appeal_id, stage=Stage.SIGN, now=step.now)
    step.appeal.signed_at = step.now
    if step.appeal.first_signed_at is None:
        step.appeal.first_signed_at, step.appeal.sign_seconds = step.now, step.working_seconds()
    step.move(AppealState.SIGNED)
    # The unit accepts the appeal as its own: the routing is confirmed, an example for the matcher.
    examples.record(
        session=session,
        appeal=step.appeal,
        source=examples.ExampleSource.SIGN,
        unit_id=step.appeal.unit_id,
        actor=actor.name,
        now=step.now,
    )
    step.tell(NoticeEvent.SIGNED, notify.signed_text(step.appeal, unit=step.unit_name(step.appeal.unit_id)))
    return step.appeal


def contact(*, session: Session, appeal_id: int, actor: Actor, note: str = "", now: datetime | None = None) -> Appeal:
    """办理: the unit has contacted the enterprise (meets the first-contact limit)."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.CONTACT, actor=actor, now=now)
    require_unit(step)
    timers.stop(session=session, appeal_id=appeal_id, stage=Stage.CONTACT, now=step.now)
    step.appeal.contacted_at = step.now
    step.move(AppealState.HANDLING, reason=note)
    return step.appeal


def suspend(*, session: Session, appeal_id: int, actor: Actor, reason: str, now: datetime | None = None) -> Appeal:
    """挂起 while waiting for the enterprise: every clock of the appeal stops; the enterprise is told what is needed."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.SUSPEND, actor=actor, now=now)
    require_unit(step)
    reason = require_text(reason, "挂起原因（需要企业补充什么）")
    timers.suspend(session=session, appeal_id=appeal_id, now=step.now)
    step.appeal.resume_state = step.appeal.state
    step.move(AppealState.SUSPENDED, reason=reason)
    step.tell(NoticeEvent.SUSPENDED, notify.suspended_text(step.appeal, reason=reason))
    return step.appeal


def resume(
    *, session: Session, appeal_id: int, actor: Actor, note: str = "", tell: bool = True, now: datetime | None = None
) -> Appeal:
    """恢复办理: the clocks restart where they stopped; the enterprise is told (unless it is told in the chat)."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.RESUME, actor=actor, now=now)
    require_unit(step)
    timers.resume(session=session, appeal_id=appeal_id, now=step.now, calendar=step.calendar, levels=step.rules.levels)
    back = step.appeal.resume_state or AppealState.HANDLING
    step.appeal.resume_state = None
    step.move(back, reason=note)
    if tell:
        reply = timers.running(session=session, appeal_id=appeal_id, stage=Stage.REPLY)
        due = reply[-1].due_at if reply else None
        step.tell(NoticeEvent.RESUMED, notify.resumed_text(step.appeal, due_at=due, calendar=step.calendar))
    return step.appeal


def unreported(*, session: Session, appeal_id: int) -> list[Milestone]:
    """Milestones whose progress has not been reported yet, in order."""
    return list(
        session.scalars(
            select(Milestone)
            .where(Milestone.appeal_id == appeal_id, Milestone.reported_at.is_(None))
            .order_by(Milestone.position)
        )
    )


def answer(
    *, session: Session, appeal_id: int, actor: Actor, text: str, solved: bool = True, now: datetime | None = None
) -> Appeal:
    """答复: the unit's answer goes to the enterprise with the satisfaction question (回访)."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.ANSWER, actor=actor, now=now)
    require_unit(step)
    text = require_text(text, "答复内容")
    if step.appeal.state == AppealState.RECTIFYING:
        left = unreported(session=session, appeal_id=appeal_id)
        if left:
            titles = "、".join(f"第{item.position}项「{item.title}」" for item in left)
            raise Refused(f"整改计划还有未报告进展的节点：{titles}；全部完成后才能答复")
        step.appeal.outcome = Outcome.RECTIFIED
    else:
        step.appeal.outcome = Outcome.SOLVED if solved else Outcome.UNSOLVED
    timers.stop(session=session, appeal_id=appeal_id, stage=Stage.REPLY, now=step.now)
    step.appeal.answer, step.appeal.answered_at, step.appeal.rating_reminded_at = text, step.now, None
    step.appeal.answer_seconds = step.working_seconds()
    step.move(AppealState.ANSWERED, reason=text, outcome=step.appeal.outcome)
    step.tell(
        NoticeEvent.ANSWERED, notify.answered_text(step.appeal, unit=step.unit_name(step.appeal.unit_id), text=text)
    )
    return step.appeal


def visit(
    *,
    session: Session,
    appeal_id: int,
    actor: Actor,
    rating: str,
    reason_code: str | None = None,
    note: str = "",
    comment: str = "",
    now: datetime | None = None,
) -> Appeal:
    """回访: 满意 or 基本满意 closes; 不满意 closes for an objective reason and reopens for a subjective one.

    `comment` is what the enterprise wrote with its rating; it is kept with the rating and logged.
    """
    step = begin(session=session, appeal_id=appeal_id, action=Action.VISIT, actor=actor, now=now)
    if actor.role == ActorRole.ENTERPRISE and actor.name != step.appeal.openid:
        raise Refused("只能评价自己提交的诉求")
    if actor.role not in {ActorRole.ENTERPRISE, ActorRole.SUPERVISOR, ActorRole.SYSTEM}:
        raise Refused(f"回访由企业本人或{step.rules.supervisor_unit}进行")
    if rating not in RATINGS:
        raise Refused("评价只能是：" + "、".join(RATINGS))
    rated = Rating(rating)
    reason = step.rules.dissatisfaction(reason_code) if rated == Rating.DISSATISFIED else None
    if rated == Rating.DISSATISFIED and reason is None:
        choices = "；".join(f"{item.code} {item.name}" for item in step.rules.dissatisfaction_reasons)
        raise Refused(f"不满意须选择原因：{choices}")
    step.appeal.rating, step.appeal.rating_reason = rated, reason.code if reason else None
    step.appeal.rating_comment = comment.strip()[:2000] or None
    # An enterprise rating in the chat is answered there; a rating taken by phone is confirmed in a message.
    told = actor.role != ActorRole.ENTERPRISE
    if reason is not None and reason.subjective:
        step.start_timer(Stage.REPLY)
        step.appeal.reopens = (step.appeal.reopens or 0) + 1
        step.move(
            AppealState.HANDLING,
            reason=note or reason.name,
            reason_code=reason.code,
            rating=rated,
            reopened=True,
            comment=step.appeal.rating_comment,
        )
        if told:
            step.tell(NoticeEvent.REOPENED, notify.reopened_text(step.appeal, unit=step.unit_name(step.appeal.unit_id)))
        return step.appeal
    step.appeal.closed_at, step.appeal.close_seconds = step.now, step.working_seconds()
    timers.stop_all(session=session, appeal_id=appeal_id, now=step.now)
    step.move(
        AppealState.CLOSED,
        reason=note or (reason.name if reason else ""),
        reason_code=reason_code,
        rating=rated,
        comment=step.appeal.rating_comment,
    )
    if told:
        step.tell(NoticeEvent.CLOSED, notify.closed_text(step.appeal, rating=rated))
    return step.appeal


def close(*, session: Session, appeal_id: int, actor: Actor, reason: str, now: datetime | None = None) -> Appeal:
    """办结 without a rating (the enterprise could not be reached for 回访), by 区营商办."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.CLOSE, actor=actor, now=now)
    require_supervisor(step)
    reason = require_text(reason, "办结说明")
    step.appeal.closed_at, step.appeal.close_seconds = step.now, step.working_seconds()
    timers.stop_all(session=session, appeal_id=appeal_id, now=step.now)
    step.move(AppealState.CLOSED, reason=reason)
    step.tell(NoticeEvent.CLOSED, notify.closed_text(step.appeal, rating=None))
    return step.appeal
