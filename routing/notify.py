"""Who is told what: messages to the enterprise (an outbox the worker sends) and notices to staff.

Staff notices wait for working hours unless the appeal is urgent; 区营商办 gets them as digests, so
that a backlog of escalations is one message, not a storm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from routing.calendar import WorkCalendar
from routing.models import (
    Appeal,
    AppealState,
    AppealTimer,
    Audience,
    EnterpriseNotice,
    Escalation,
    NoticeEvent,
    NoticeStatus,
    Notification,
    Stage,
    Unit,
)
from routing.rules import STAGES, Level, load_calendar, load_rules

if TYPE_CHECKING:
    from routing.models import Milestone

WEEKDAYS = "一二三四五六日"
DIGEST_ITEMS = 20
MAX_ATTEMPTS = 5


def local_text(moment: datetime, calendar: WorkCalendar) -> str:
    """2026年12月8日（周二）18:00, in the district's time."""
    local = moment.astimezone(calendar.zone)
    return f"{local.year}年{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def date_text(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# -- to the enterprise --


def signed_text(appeal: Appeal, *, unit: str) -> str:
    return f"您反映的诉求（编号 {appeal.reference}）已由{unit}签收，正在办理。回复“进度”可随时查询。"


def suspended_text(appeal: Appeal, *, reason: str) -> str:
    return (
        f"您反映的诉求（编号 {appeal.reference}）需要您补充：{reason}\n"
        "请直接在本公众号回复（文字、图片、语音或文件均可），我们会附在这件诉求上转给承办单位；"
        "材料齐全后继续办理（等待期间不计入办理时限）。如要先咨询其他问题，请回复“新问题”。"
    )


def resumed_text(appeal: Appeal, *, due_at: datetime | None, calendar: WorkCalendar) -> str:
    due = f"，答复期限：{local_text(due_at, calendar)}" if due_at is not None else ""
    return f"您反映的诉求（编号 {appeal.reference}）已恢复办理，办理时限继续计算{due}。"


RATING_PROMPT = "请对办理结果进行评价，直接回复：满意 / 基本满意 / 不满意（也可回复 1 / 2 / 3，并附上您的意见）"


def answered_text(appeal: Appeal, *, unit: str, text: str) -> str:
    return f"您反映的诉求（编号 {appeal.reference}），{unit}答复如下：\n{text}\n\n{RATING_PROMPT}"


def rating_reminder_text(appeal: Appeal, *, unit: str) -> str:
    return f"您反映的诉求（编号 {appeal.reference}）{unit}已经答复，还没有收到您的评价。{RATING_PROMPT}"


def recategorized_text(appeal: Appeal, *, category: str, due_at: datetime | None, calendar: WorkCalendar) -> str:
    due = f"，答复期限：{local_text(due_at, calendar)}" if due_at is not None else ""
    return f"您反映的诉求（编号 {appeal.reference}）已调整为“{category}”类办理{due}。"


def reopened_text(appeal: Appeal, *, unit: str) -> str:
    return f"已收到您对诉求（编号 {appeal.reference}）的评价。我们已要求{unit}重新办理，办理后将再次答复您。"


def closed_text(appeal: Appeal, *, rating: str | None) -> str:
    rated = f"，您的评价：{rating}" if rating else ""
    return f"您反映的诉求（编号 {appeal.reference}）已办结{rated}。感谢您对营商环境工作的支持！"


def transferred_text(appeal: Appeal, *, unit: str) -> str:
    return f"您反映的诉求（编号 {appeal.reference}）已转由{unit}办理。"


def extended_text(appeal: Appeal, *, due_at: datetime, calendar: WorkCalendar) -> str:
    return f"您反映的诉求（编号 {appeal.reference}）经批准延期办理，答复期限延至{local_text(due_at, calendar)}。"


def plan_text(appeal: Appeal, *, milestones: Sequence[tuple[str, date]]) -> str:
    steps = "\n".join(f"{number}. {title}（{date_text(due)}前）" for number, (title, due) in enumerate(milestones, 1))
    return (
        f"您反映的诉求（编号 {appeal.reference}）需要一段时间整改，承办单位制定了整改计划：\n{steps}\n"
        "每个节点完成时都会告诉您进展。"
    )


def milestone_text(appeal: Appeal, *, milestone: Milestone) -> str:
    return (
        f"您反映的诉求（编号 {appeal.reference}）整改进展："
        f"第 {milestone.position} 项「{milestone.title}」——{milestone.progress}\n"
        "如确认这一项已经完成，请回复“确认”；如有不同意见，请直接说明。"
    )


def tell_enterprise(*, session: Session, appeal: Appeal, event: NoticeEvent, text: str, now: datetime) -> None:
    """Queue a message to the enterprise; the worker sends it (customer service, template, or a phone call)."""
    session.add(
        EnterpriseNotice(
            appeal_id=appeal.id,
            openid=appeal.openid,
            event=event,
            text=text,
            status=NoticeStatus.PENDING,
            attempts=0,
            created_at=now,
        )
    )


@dataclass(frozen=True)
class Outgoing:
    """A claimed enterprise notice, with what a template message needs."""

    id: int
    appeal_id: int
    openid: str
    event: NoticeEvent
    text: str
    reference: str
    state: AppealState
    attempts: int


def claim_enterprise_notices(
    *, session: Session, now: datetime, limit: int = 50, stale_after: timedelta = timedelta(minutes=2)
) -> list[Outgoing]:
    """Take pending notices (and ones whose sender died) for sending; SKIP LOCKED lets workers share them."""
    rows = session.execute(
        select(EnterpriseNotice, Appeal.reference, Appeal.state)
        .join(Appeal, Appeal.id == EnterpriseNotice.appeal_id)
        .where(
            (EnterpriseNotice.status == NoticeStatus.PENDING)
            | ((EnterpriseNotice.status == NoticeStatus.SENDING) & (EnterpriseNotice.claimed_at < now - stale_after))
        )
        .order_by(EnterpriseNotice.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=EnterpriseNotice)
    ).all()
    claimed = []
    for notice, reference, state in rows:
        notice.status, notice.claimed_at, notice.attempts = NoticeStatus.SENDING, now, notice.attempts + 1
        claimed.append(
            Outgoing(
                notice.id, notice.appeal_id, notice.openid, notice.event, notice.text, reference, state, notice.attempts
            )
        )
    session.flush()
    return claimed


def finish_enterprise_notice(
    *,
    session: Session,
    notice_id: int,
    status: NoticeStatus,
    now: datetime,
    outbound_id: int | None = None,
    error: str | None = None,
) -> None:
    """Record how a notice went: sent | template | needs_call (the appeal is flagged for a phone call)."""
    notice = session.get(EnterpriseNotice, notice_id)
    if notice is None:
        return
    notice.status, notice.outbound_id, notice.error = status, outbound_id, error
    notice.sent_at = now if status in {NoticeStatus.SENT, NoticeStatus.TEMPLATE} else None
    if status == NoticeStatus.NEEDS_CALL:
        session.execute(update(Appeal).where(Appeal.id == notice.appeal_id).values(needs_call=True, updated_at=now))


# -- to staff --


def notice_text(*, level: Level, stage: Stage, reference: str, enterprise: str, unit: str, due: str) -> str:
    """What the staff notice of an escalation says."""
    what = f"诉求 {reference}（{enterprise}，{unit}）的{STAGES.get(stage, stage)}"
    if level.percent < 100:
        return f"【{level.name}】{what}时限已用去 {level.percent}%，请于{due}前完成。"
    if level.percent == 100:
        return f"【{level.name}】{what}已超过时限（截止{due}），请单位负责人督促办理。"
    return f"【{level.name}】{what}超过时限，用时已达时限的 {level.percent}%（截止{due}），请予督办。"


def notify_escalations(*, session: Session, now: datetime, limit: int = 1000) -> int:
    """Write the staff notice of each escalation not noticed yet (once: SKIP LOCKED and a unique key)."""
    escalations = session.execute(
        select(
            Escalation.id,
            Escalation.appeal_id,
            Escalation.timer_id,
            Escalation.level,
            Escalation.name,
            Escalation.audience,
            Escalation.unit_id,
        )
        .where(Escalation.notified_at.is_(None))
        .order_by(Escalation.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not escalations:
        return 0
    appeals = {
        row.id: row
        for row in session.execute(
            select(Appeal.id, Appeal.reference, Appeal.enterprise, Appeal.urgency).where(
                Appeal.id.in_({item.appeal_id for item in escalations})
            )
        )
    }
    timers = {
        row.id: row
        for row in session.execute(
            select(AppealTimer.id, AppealTimer.stage, AppealTimer.due_at).where(
                AppealTimer.id.in_({item.timer_id for item in escalations})
            )
        )
    }
    rules, calendar = load_rules(session=session), load_calendar(session=session)
    ladder = {level.level: level for level in rules.levels}
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    release_at = calendar.next_working_moment(now)  # non-urgent notices wait for working hours
    rows = []
    for item in escalations:
        appeal, timer = appeals[item.appeal_id], timers[item.timer_id]
        level = ladder.get(item.level) or Level(item.level, 100, item.name, item.audience)
        urgent = appeal.urgency == "urgent"
        rows.append(
            {
                "appeal_id": item.appeal_id,
                "escalation_id": item.id,
                "audience": item.audience,
                "unit_id": item.unit_id,
                "urgent": urgent,
                "created_at": now,
                "release_at": now if urgent else release_at,
                "text": notice_text(
                    level=level,
                    stage=timer.stage,
                    reference=appeal.reference,
                    enterprise=appeal.enterprise,
                    unit=units.get(item.unit_id, ""),
                    due=local_text(timer.due_at, calendar),
                ),
            }
        )
    session.execute(insert(Notification), rows)
    session.execute(
        update(Escalation).where(Escalation.id.in_([item.id for item in escalations])).values(notified_at=now),
        execution_options={"synchronize_session": False},
    )
    return len(rows)


def release_notifications(*, session: Session, now: datetime, digest_minutes: int, calendar: WorkCalendar) -> int:
    """Release staff notices that may go out now, and a supervisor digest when one is due; how many released."""
    released = session.execute(  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        update(Notification)
        .where(
            Notification.released_at.is_(None),
            Notification.release_at <= now,
            (Notification.audience != Audience.SUPERVISOR) | Notification.urgent.is_(True),
        )
        .values(released_at=now)
    ).rowcount
    if not calendar.in_working_hours(now):
        return int(released or 0)
    last = session.scalar(
        select(Notification.released_at)
        .where(Notification.audience == Audience.SUPERVISOR, Notification.escalation_id.is_(None))
        .order_by(Notification.released_at.desc())
        .limit(1)
    )
    if last is not None and now - last < timedelta(minutes=digest_minutes):
        return int(released or 0)
    items = list(
        session.scalars(
            select(Notification)
            .where(
                Notification.released_at.is_(None),
                Notification.audience == Audience.SUPERVISOR,
                Notification.release_at <= now,
            )
            .order_by(Notification.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not items:
        return int(released or 0)
    lines = [item.text for item in items[:DIGEST_ITEMS]]
    if len(items) > DIGEST_ITEMS:
        lines.append(f"……另有 {len(items) - DIGEST_ITEMS} 条")
    digest = Notification(
        audience=Audience.SUPERVISOR,
        urgent=False,
        created_at=now,
        release_at=now,
        released_at=now,
        text=f"督办汇总：{len(items)} 件诉求需要督办\n" + "\n".join(lines),
    )
    session.add(digest)
    session.flush()
    for item in items:
        item.released_at, item.digest_id = now, digest.id
    return int(released or 0) + 1
