"""Where an appeal goes: 受理 and 派单 at once, 退回 (with a reason, at most twice), 转派, and 区营商办's 裁定."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import examples, notify, timers
from routing.deadlines import describe_limit
from routing.lifecycle import Actor, Refused, Step, begin, now_utc, require_supervisor, require_text, require_unit
from routing.models import Action, Appeal, AppealState, Category, NoticeEvent, Stage, StopReason, Unit
from routing.references import next_reference
from routing.rules import Rules, limit_for, load_calendar, load_rules


@dataclass(frozen=True)
class Submission:
    """What the enterprise told the bot, confirmed."""

    openid: str
    enterprise: str
    contact: str
    phone: str
    description: str
    category_code: str | None = None
    street: str = ""
    place: str = ""
    urgency: str | None = None
    # The unit the matcher chose when it is not the category's lead unit (learned from the district's decisions).
    unit: str | None = None
    # Too close to call: 区营商办 triages (分拨) the appeal; the candidates are shown to it.
    triage: bool = False
    candidates: tuple[str, ...] = ()


def street_unit(*, session: Session, street: str) -> Unit | None:
    """The street office (街道办事处) of the street the enterprise named, by name or alias; None if unknown."""
    said = street.strip()
    if not said:
        return None
    best: tuple[int, Unit] | None = None
    for unit in session.scalars(select(Unit).where(Unit.kind == "street")):
        for name in (unit.name, *(unit.aliases or [])):
            if name and name in said and (best is None or len(name) > best[0]):
                best = (len(name), unit)
    return best[1] if best else None


def urgency_of(rules: Rules, text: str) -> str:
    """The most urgent level whose words appear in the text, else normal."""
    for urgency in reversed(rules.urgencies):
        if any(word in text for word in urgency.keywords):
            return urgency.code
    return "normal"


def file_appeal(*, session: Session, submission: Submission, now: datetime | None = None) -> Appeal:
    """受理 and 派单 in one transaction: reference, lead unit (and the street office), clocks started."""
    now = now or now_utc()
    rules = load_rules(session=session)
    calendar = load_calendar(session=session)
    codes = [code for code in (submission.category_code, rules.default_category) if code]
    category = None
    for code in codes:
        category = session.scalar(select(Category).where(Category.code == code))
        if category is not None:
            break
    if category is None:
        raise Refused(f"路由表中没有类别 {' / '.join(codes)}，请管理员检查默认类别设置")
    street = street_unit(session=session, street=submission.street)
    co_units = [unit.name for unit in category.co_units]
    if street is not None and street.name not in co_units:
        co_units.append(street.name)
    urgency = submission.urgency or urgency_of(rules, submission.description)
    lead = _lead_unit(session, rules, submission, category)
    appeal = Appeal(
        reference=next_reference(session=session, prefix=rules.reference_prefix, day=calendar.local_date(now)),
        openid=submission.openid,
        enterprise=submission.enterprise,
        contact=submission.contact,
        phone=submission.phone,
        street=submission.street,
        place=submission.place,
        description=submission.description,
        category_id=category.id,
        urgency=urgency,
        unit_id=lead.id,
        street_unit_id=street.id if street else None,
        co_units=co_units,
        state=AppealState.RECEIVED,
        returns=0,
        final_route=False,
        needs_call=False,
        created_at=now,
        updated_at=now,
    )
    session.add(appeal)
    session.flush()
    actor = Actor.enterprise(submission.openid)
    step = Step(
        session=session, appeal=appeal, action=Action.ACCEPT, actor=actor, now=now, _rules=rules, _calendar=calendar
    )
    step.move(AppealState.RECEIVED, created=True, category=category.code, urgency=urgency)
    # 接诉即办: dispatched in the same breath; the clock starts here, at 派单.
    step.action, step.actor = Action.DISPATCH, Actor.system()
    appeal.dispatched_at = now
    for stage in (Stage.SIGN, Stage.CONTACT, Stage.REPLY):
        step.start_timer(stage)
    if submission.triage:
        step.move(
            AppealState.DISPATCHED,
            unit=lead.name,
            co_units=co_units,
            triage=True,
            candidates=list(submission.candidates),
        )
    else:
        step.move(AppealState.DISPATCHED, unit=lead.name, co_units=co_units)
    session.flush()
    return appeal


def _lead_unit(session: Session, rules: Rules, submission: Submission, category: Category) -> Unit:
    """Who gets the appeal: 区营商办 to triage, the unit the matcher chose, or the category's lead unit."""
    wanted = rules.supervisor_unit if submission.triage else submission.unit
    if wanted:
        unit = session.scalar(select(Unit).where(Unit.name == wanted))
        if unit is not None:
            return unit
    return category.lead_unit


def _unit(step: Step, name: str) -> Unit:
    unit = step.session.scalar(select(Unit).where(Unit.name == name.strip()))
    if unit is None:
        raise Refused(f"路由表中没有单位「{name}」")
    if not unit.active:
        raise Refused(f"单位「{unit.name}」已停用，不能再派单")
    return unit


def _redispatch(step: Step, unit: Unit, *, reason: str, **data: Any) -> None:
    """Hand the appeal to `unit`: it must sign for it again; contact and reply clocks keep running from 派单."""
    # 区营商办 re-dispatching a returned or disputed appeal meets its own limit; a unit passed over does not.
    met = step.appeal.state in {AppealState.RETURNED, AppealState.ARBITRATION}
    timers.stop(
        session=step.session,
        appeal_id=step.appeal.id,
        stage=Stage.SIGN,
        now=step.now,
        reason=StopReason.MET if met else StopReason.CANCELLED,
    )
    step.appeal.unit_id = unit.id
    step.appeal.signed_at = None
    step.start_timer(Stage.SIGN)
    if not timers.running(session=step.session, appeal_id=step.appeal.id, stage=Stage.CONTACT):
        step.start_timer(Stage.CONTACT)  # the new unit must contact the enterprise itself
    step.move(AppealState.DISPATCHED, reason=reason, unit=unit.name, **data)


def return_appeal(
    *,
    session: Session,
    appeal_id: int,
    actor: Actor,
    reason_code: str | None,
    reason: str = "",
    now: datetime | None = None,
) -> Appeal:
    """退回 a misrouted appeal to 区营商办 with a reason code; after two, a further one goes to arbitration."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.RETURN, actor=actor, now=now)
    require_unit(step)
    rules = step.rules
    if step.appeal.final_route:
        raise Refused(f"{rules.supervisor_unit}已裁定由本单位办理，不能再退回")
    supervisor = step.supervisor_unit()
    if step.appeal.unit_id == supervisor.id:
        raise Refused(f"{rules.supervisor_unit}是派单单位，不能退回，请直接转派")
    code = rules.return_reason(reason_code)
    if code is None:
        choices = "；".join(f"{item.code} {item.name}" for item in rules.return_reasons)
        raise Refused(f"退回须选择退回原因：{choices}")
    returned_by = step.unit_name(step.appeal.unit_id)
    timers.stop(session=session, appeal_id=appeal_id, stage=Stage.SIGN, now=step.now, reason=StopReason.CANCELLED)
    step.appeal.unit_id = supervisor.id
    step.start_timer(Stage.SIGN)  # 首问负责: 区营商办 owns it until a unit signs, under the same limit
    if step.appeal.returns >= rules.max_returns:
        step.move(
            AppealState.ARBITRATION,
            reason=reason or code.name,
            reason_code=code.code,
            returned_by=returned_by,
            dispute=True,
        )
    else:
        step.appeal.returns += 1
        step.move(AppealState.RETURNED, reason=reason or code.name, reason_code=code.code, returned_by=returned_by)
    return step.appeal


def transfer(
    *, session: Session, appeal_id: int, actor: Actor, unit: str, reason: str, now: datetime | None = None
) -> Appeal:
    """转派 by 区营商办 to another unit, which must sign for it."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.TRANSFER, actor=actor, now=now)
    require_supervisor(step)
    reason = require_text(reason, "转派原因")
    target = _unit(step, unit)
    if target.id == step.appeal.unit_id and step.appeal.state != AppealState.RETURNED:
        raise Refused(f"诉求 {step.appeal.reference} 已由{target.name}办理，无需转派")
    _redispatch(step, target, reason=reason)
    _learn(step, target, examples.ExampleSource.TRANSFER)
    step.tell(NoticeEvent.TRANSFERRED, notify.transferred_text(step.appeal, unit=target.name))
    return step.appeal


def _learn(step: Step, target: Unit, source: examples.ExampleSource) -> None:
    """区营商办's routing decision (not a re-dispatch to itself) as an example for the matcher."""
    if target.name != step.rules.supervisor_unit:
        examples.record(
            session=step.session,
            appeal=step.appeal,
            source=source,
            unit_id=target.id,
            actor=step.actor.name,
            now=step.now,
        )


def arbitrate(
    *, session: Session, appeal_id: int, actor: Actor, unit: str, reason: str, now: datetime | None = None
) -> Appeal:
    """裁定 a routing dispute: 区营商办 names the unit; the decision is final (no more returns)."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.ARBITRATE, actor=actor, now=now)
    require_supervisor(step)
    reason = require_text(reason, "裁定理由")
    target = _unit(step, unit)
    step.appeal.final_route = True
    _redispatch(step, target, reason=reason, final=True)
    _learn(step, target, examples.ExampleSource.ARBITRATE)
    step.tell(NoticeEvent.TRANSFERRED, notify.transferred_text(step.appeal, unit=target.name))
    return step.appeal


def _retime(step: Step, old_code: str, new_code: str) -> list[dict[str, str]]:
    """Give the running 签收 / 联系 / 答复 clocks the new category's limits (an approved 延期 is kept on top)."""
    changed = []
    for timer in timers.running(session=step.session, appeal_id=step.appeal.id):
        if timer.stage not in (Stage.SIGN, Stage.CONTACT, Stage.REPLY):
            continue
        urgency, stage = step.appeal.urgency, timer.stage
        old_amount, old_unit = limit_for(session=step.session, category_code=old_code, urgency=urgency, stage=stage)
        amount, unit = limit_for(session=step.session, category_code=new_code, urgency=urgency, stage=stage)
        extra = timer.amount - old_amount if old_unit == unit == timer.unit and timer.amount > old_amount else 0
        if (amount + extra, unit) == (timer.amount, timer.unit):
            continue
        before = describe_limit(timer.amount, timer.unit)
        timers.extend(timer=timer, amount=amount + extra, unit=unit, calendar=step.calendar, levels=step.rules.levels)
        changed.append({"stage": timer.stage.label, "from": before, "to": describe_limit(timer.amount, timer.unit)})
    return changed


def recategorize(
    *, session: Session, appeal_id: int, actor: Actor, category: str, reason: str, now: datetime | None = None
) -> Appeal:
    """区营商办 corrects the category: running limits follow the new category's, co-units too; logged, told."""
    step = begin(session=session, appeal_id=appeal_id, action=Action.RECATEGORIZE, actor=actor, now=now)
    require_supervisor(step)
    reason = require_text(reason, "调整类别的理由")
    target = session.scalar(select(Category).where(Category.code == category.strip()))
    if target is None:
        raise Refused(f"路由表中没有类别「{category}」")
    previous = session.get(Category, step.appeal.category_id)
    if previous is not None and previous.id == target.id:
        raise Refused(f"诉求 {step.appeal.reference} 已属于「{target.name}」，无需调整")
    old_code = previous.code if previous is not None else "*"
    step.appeal.category_id = target.id
    street = session.get(Unit, step.appeal.street_unit_id) if step.appeal.street_unit_id else None
    co_units = [unit.name for unit in target.co_units]
    if street is not None and street.name not in co_units:
        co_units.append(street.name)
    step.appeal.co_units = co_units
    changed = _retime(step, old_code, target.code)
    step.move(
        step.appeal.state,
        reason=reason,
        category=target.code,
        category_name=target.name,
        previous=old_code,
        previous_name=previous.name if previous is not None else "",
        limits=changed,
    )
    reply = timers.running(session=session, appeal_id=appeal_id, stage=Stage.REPLY)
    due = reply[-1].due_at if reply and reply[-1].suspended_at is None else None
    step.tell(
        NoticeEvent.RECATEGORIZED,
        notify.recategorized_text(step.appeal, category=target.name, due_at=due, calendar=step.calendar),
    )
    return step.appeal
