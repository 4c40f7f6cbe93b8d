"""Hand-off to a person (人工客服): "人工", "转人工", "人工客服", "找工作人员" or the menu open a conversation in a
console inbox — 区营商办's, or the unit's that handles the enterprise's open appeal. The enterprise is told the
working hours and when to expect an answer; its messages go to the conversation (a wait of bot.chat.waiting)
until staff or the enterprise end it. Staff replies are outbound messages sent through the 48-hour window rules
(bot.web.console.inbox_pages); every message is stored as any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from bot.chat import messages
from bot.chat.models import Attached, Handoff, HandoffState
from bot.chat.waiting import Message, Taken, Waiting, plain
from routing.calendar import WorkCalendar
from routing.models import Appeal, AppealState, Audience, Notification, Unit
from routing.notify import local_text
from routing.rules import load_calendar, load_rules

ASK = {"人工", "转人工", "人工客服", "找工作人员", "人工服务", "找人工", "转人工客服", "我要人工", "真人", "找客服"}
END = {"结束人工", "结束", "退出人工", "结束对话", "不用了谢谢", "结束人工服务"}
# WeChat lets staff write back for 48 hours after the enterprise's last message: a hand-off quiet longer is over.
WINDOW = timedelta(hours=48)
# The states of an appeal whose unit takes the hand-off rather than 区营商办.
HANDLED = (AppealState.SIGNED, AppealState.HANDLING, AppealState.SUSPENDED, AppealState.RECTIFYING)


def asks_for_person(text: str) -> bool:
    """Is this message a request for a person?"""
    return plain(text) in ASK


def hours_text(calendar: WorkCalendar) -> str:
    """工作日 09:00-12:00、14:00-18:00（法定节假日除外）."""
    spans = "、".join(f"{begin:%H:%M}-{end:%H:%M}" for begin, end in calendar.periods)
    return f"工作日 {spans}（法定节假日除外）"


def expect_text(calendar: WorkCalendar, *, now: datetime, minutes: int) -> str:
    """When the enterprise may expect an answer, in words."""
    if calendar.in_working_hours(now):
        return f"现在是工作时间，工作人员一般会在 {minutes} 分钟内回复您"
    opens = calendar.next_working_moment(now)
    return f"现在是非工作时间，工作人员将于{local_text(opens, calendar)}上班后尽快回复您"


def current(session: Session, openid: str, now: datetime) -> Handoff | None:
    """The enterprise's open hand-off, if it is still within WeChat's window."""
    found = session.scalar(
        select(Handoff)
        .where(Handoff.openid == openid, Handoff.state == HandoffState.OPEN)
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    if found is None or now - max(found.last_enterprise_at, found.last_staff_at or found.opened_at) > WINDOW:
        return None
    return found


def _unit_for(session: Session, openid: str) -> tuple[Unit, int | None]:
    """The unit of the enterprise's latest appeal in hand, else the supervising office (区营商办)."""
    row = session.execute(
        select(Unit, Appeal.id)
        .join(Appeal, Appeal.unit_id == Unit.id)
        .where(Appeal.openid == openid, Appeal.state.in_(HANDLED))
        .order_by(Appeal.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return row[0], row[1]
    office = session.scalar(select(Unit).where(Unit.name == load_rules(session=session).supervisor_unit))
    if office is None:
        raise LookupError("路由表中没有督办单位")
    return office, None


def open_handoff(session: Session, *, openid: str, key: str, now: datetime) -> str:
    """Open a hand-off for the enterprise (or say the one open already); the reply."""
    found = current(session, openid, now)
    if found is not None:
        messages.link(session, key=key, attached_as=Attached.HANDOFF, handoff_id=found.id)
        unit = session.get(Unit, found.unit_id)
        return f"您正在与{unit.name if unit else '工作人员'}的工作人员对话，请直接留言；回复“结束人工”可退出。"
    unit, appeal_id = _unit_for(session, openid)
    handoff = Handoff(
        openid=openid,
        unit_id=unit.id,
        appeal_id=appeal_id,
        state=HandoffState.OPEN,
        opened_at=now,
        last_enterprise_at=now,
    )
    session.add(handoff)
    session.flush()
    messages.link(session, key=key, attached_as=Attached.HANDOFF, handoff_id=handoff.id)
    rules, calendar = load_rules(session=session), load_calendar(session=session)
    office = unit.name == rules.supervisor_unit
    session.add(
        Notification(
            appeal_id=appeal_id,
            audience=Audience.SUPERVISOR if office else Audience.STAFF,
            unit_id=unit.id,
            urgent=True,
            text=f"有企业请求人工服务（人工咨询 #{handoff.id}），请在“人工咨询”中回复。",
            created_at=now,
            release_at=now,
            released_at=now,
        )
    )
    return (
        f"已为您转接人工服务，由{unit.name}的工作人员为您解答。\n"
        f"工作时间：{hours_text(calendar)}；{expect_text(calendar, now=now, minutes=rules.handoff_reply_minutes)}。\n"
        "请直接发送您的问题（文字、图片均可）；回复“结束人工”可退出。"
    )


def close(session: Session, handoff: Handoff, *, by: str, now: datetime) -> None:
    """End a hand-off (staff, or the enterprise)."""
    handoff.state, handoff.closed_at, handoff.closed_by = HandoffState.CLOSED, now, by


class Handoffs:
    """The source of the hand-off wait: while one is open, the enterprise's messages go to the person."""

    kinds = ("handoff",)

    def waiting(self, session: Session, message: Message) -> list[Waiting]:
        found = current(session, message.openid, message.now)
        if found is None:
            return []
        unit = session.scalar(select(Unit.name).where(Unit.id == found.unit_id)) or "工作人员"
        return [
            Waiting(
                kind="handoff",
                key=f"handoff:{found.id}",
                since=found.opened_at,
                label=f"您正在与{unit}的工作人员对话（回复“结束人工”退出）",
                own=True,
                data={"handoff_id": found.id, "unit": unit},
            )
        ]

    def take(self, session: Session, waiting: Waiting, message: Message) -> Taken | None:
        handoff = session.get(Handoff, int(waiting.data["handoff_id"]), with_for_update=True)
        if handoff is None or handoff.state != HandoffState.OPEN:
            return None
        messages.link(session, key=message.key, attached_as=Attached.HANDOFF, handoff_id=handoff.id)
        if message.kind == "text" and message.word in END:
            close(session, handoff, by="企业", now=message.now)
            return Taken("已结束人工服务。如还有问题，可以随时留言，或再次回复“人工客服”。")
        handoff.last_enterprise_at = message.now
        if message.kind == "text" and message.word in ASK:
            return Taken(f"您正在与{waiting.data['unit']}的工作人员对话，请直接留言；回复“结束人工”可退出。")
        return Taken("已收到，已转给工作人员，请稍候。")


# -- what the console reads --


@dataclass(frozen=True)
class Row:
    """A hand-off as the console inbox lists it."""

    id: int
    openid: str
    unit: str
    enterprise: str
    state: HandoffState
    opened_at: datetime
    last_enterprise_at: datetime
    last_staff_at: datetime | None
    reference: str | None

    @property
    def waiting_for_staff(self) -> bool:
        return self.state == HandoffState.OPEN and (
            self.last_staff_at is None or self.last_staff_at < self.last_enterprise_at
        )


def _scope(unit_id: int | None) -> list[ColumnElement[bool]]:
    """The condition that narrows hand-offs to one unit's (none for 区营商办, who sees all)."""
    return [] if unit_id is None else [Handoff.unit_id == unit_id]


def rows(session: Session, *, unit_id: int | None, limit: int = 100) -> list[Row]:
    """The scope's hand-offs: open ones waiting for staff first, then open, then the latest ended."""
    statement = (
        select(Handoff, Unit.name, Appeal.reference)
        .join(Unit, Unit.id == Handoff.unit_id)
        .outerjoin(Appeal, Appeal.id == Handoff.appeal_id)
        .where(*_scope(unit_id))
    )
    found = [
        Row(
            handoff.id,
            handoff.openid,
            unit,
            enterprise_name(session, handoff.openid),
            handoff.state,
            handoff.opened_at,
            handoff.last_enterprise_at,
            handoff.last_staff_at,
            reference,
        )
        for handoff, unit, reference in session.execute(statement.order_by(Handoff.id.desc()).limit(limit))
    ]
    found.sort(key=lambda row: (not row.waiting_for_staff, row.state != HandoffState.OPEN, -row.id))
    return found


def waiting_count(session: Session, *, unit_id: int | None) -> int:
    """Open hand-offs in scope whose enterprise wrote last (they wait for a person)."""
    statement = (
        select(func.count())
        .select_from(Handoff)
        .where(
            Handoff.state == HandoffState.OPEN,
            or_(Handoff.last_staff_at.is_(None), Handoff.last_staff_at < Handoff.last_enterprise_at),
            *_scope(unit_id),
        )
    )
    return int(session.scalar(statement) or 0)


def enterprise_name(session: Session, openid: str) -> str:
    """The enterprise's name from its latest appeal, or a placeholder before its first."""
    name = session.scalar(select(Appeal.enterprise).where(Appeal.openid == openid).order_by(Appeal.id.desc()).limit(1))
    return name or "（尚未登记企业名称）"


def visible(session: Session, *, handoff_id: int, unit_id: int | None) -> Handoff | None:
    """The hand-off if the scope may see it."""
    found = session.get(Handoff, handoff_id)
    if found is None or (unit_id is not None and found.unit_id != unit_id):
        return None
    return found
