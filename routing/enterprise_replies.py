"""What the enterprise sends back in the chat: material asked for while 挂起, answers to staff, milestone replies.

Each is logged on the appeal (who, when, what: the text, or the kind and address of an image or file) and the
handling unit is told in its console notices. Callers own the transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing import lifecycle
from routing.lifecycle import Actor, Refused, Step, begin
from routing.models import Action, Appeal, AppealEvent, Audience, Milestone, Notification

MAX_TEXT = 4000


@dataclass(frozen=True)
class Attachment:
    """One message as the appeal keeps it: its kind (text, image, voice, file, link, ...), text and address."""

    kind: str
    text: str = ""
    url: str = ""

    @property
    def link(self) -> str | None:
        return self.url[:2000] or None


@dataclass(frozen=True)
class Supplemented:
    """A supplement taken: the appeal, how many came since staff asked, what they asked, whether it resumed."""

    appeal: Appeal
    count: int
    asked: str
    unit: str
    resumed: bool


def _own(step: Step, openid: str) -> None:
    if step.appeal.openid != openid:
        raise Refused("只能补充自己提交的诉求")


def tell_staff(*, session: Session, appeal: Appeal, text: str, now: datetime) -> None:
    """A console notice to the handling unit's staff, shown at once (the enterprise is waiting for them)."""
    session.add(
        Notification(
            appeal_id=appeal.id,
            audience=Audience.STAFF,
            unit_id=appeal.unit_id,
            urgent=False,
            text=text,
            created_at=now,
            release_at=now,
            released_at=now,
        )
    )


def _last(session: Session, appeal_id: int, action: Action) -> AppealEvent | None:
    return session.scalar(
        select(AppealEvent)
        .where(AppealEvent.appeal_id == appeal_id, AppealEvent.action == action)
        .order_by(AppealEvent.id.desc())
        .limit(1)
    )


def supplement(
    *, session: Session, appeal_id: int, openid: str, attachment: Attachment, now: datetime | None = None
) -> Supplemented:
    """补充材料 while 挂起: logged on the appeal; staff are told of the first one; resumes if the table says so."""
    actor = Actor.enterprise(openid)
    step = begin(session=session, appeal_id=appeal_id, action=Action.SUPPLEMENT, actor=actor, now=now)
    _own(step, openid)
    asked = _last(session, appeal_id, Action.SUSPEND)
    since = asked.id if asked is not None else 0
    earlier = session.scalar(
        select(func.count())
        .select_from(AppealEvent)
        .where(AppealEvent.appeal_id == appeal_id, AppealEvent.action == Action.SUPPLEMENT, AppealEvent.id > since)
    )
    step.move(step.appeal.state, reason=attachment.text[:MAX_TEXT], kind=attachment.kind, url=attachment.link)
    unit = step.unit_name(step.appeal.unit_id)
    if not earlier:
        tell_staff(
            session=session,
            appeal=step.appeal,
            text=(
                f"诉求 {step.appeal.reference}（{step.appeal.enterprise}）的企业已补充材料，"
                "请查看；材料齐全后请恢复办理。"
            ),
            now=step.now,
        )
    resumed = step.rules.resume_on_supplement
    if resumed:
        note = "企业已在对话中补充材料，按路由表设置自动恢复办理"
        lifecycle.resume(
            session=session, appeal_id=appeal_id, actor=Actor.system(), note=note, tell=False, now=step.now
        )
    return Supplemented(step.appeal, int(earlier or 0) + 1, asked.reason if asked else "", unit, resumed)


def answer_staff(
    *, session: Session, appeal_id: int, openid: str, attachment: Attachment, now: datetime | None = None
) -> str:
    """The enterprise answers the unit that wrote to it: logged, the unit told; the unit's name."""
    step = begin(
        session=session, appeal_id=appeal_id, action=Action.ENTERPRISE_MESSAGE, actor=Actor.enterprise(openid), now=now
    )
    _own(step, openid)
    step.move(step.appeal.state, reason=attachment.text[:MAX_TEXT], kind=attachment.kind, url=attachment.link)
    tell_staff(
        session=session,
        appeal=step.appeal,
        text=f"诉求 {step.appeal.reference}（{step.appeal.enterprise}）的企业回复了您的消息，请查看。",
        now=step.now,
    )
    return step.unit_name(step.appeal.unit_id)


def milestone_reply(
    *,
    session: Session,
    appeal_id: int,
    openid: str,
    position: int,
    confirmed: bool,
    text: str,
    now: datetime | None = None,
) -> Milestone:
    """The enterprise confirms a reported milestone, or says why not (the unit is told of an objection)."""
    step = begin(
        session=session, appeal_id=appeal_id, action=Action.CONFIRM_MILESTONE, actor=Actor.enterprise(openid), now=now
    )
    _own(step, openid)
    milestone = session.scalar(
        select(Milestone).where(Milestone.appeal_id == appeal_id, Milestone.position == position)
    )
    if milestone is None or milestone.reported_at is None:
        raise Refused(f"整改计划第 {position} 项还没有报告进展")
    if confirmed:
        milestone.confirmed_at = step.now
    step.move(step.appeal.state, reason=text[:MAX_TEXT], position=position, confirmed=confirmed)
    if not confirmed:
        tell_staff(
            session=session,
            appeal=step.appeal,
            text=f"诉求 {step.appeal.reference} 的企业对整改第 {position} 项「{milestone.title}」有不同意见，请查看。",
            now=step.now,
        )
    return milestone
