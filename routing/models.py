"""Tables of the routing domain: the routing table (units, categories, time limits, calendar) and appeals.

The words the tables store (states, actions, roles, ratings, stages, audiences, notice events and statuses)
are StrEnums here, beside the columns that hold them, with their Chinese labels; each member's value is the
stored string. They live here rather than in routing.lifecycle, routing.rules or routing.notify because those
import the models; they keep the label mappings under their old names (STATES, ACTIONS, STAGES, AUDIENCES).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage import UTC_TIME, Base, EnumString

# -- the stored words --


class AppealState(StrEnum):
    """Where an appeal stands (routing.lifecycle moves it)."""

    RECEIVED = "received"
    DISPATCHED = "dispatched"
    SIGNED = "signed"
    HANDLING = "handling"
    SUSPENDED = "suspended"
    RETURNED = "returned"
    ARBITRATION = "arbitration"
    RECTIFYING = "rectifying"
    ANSWERED = "answered"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[AppealState, str] = {
    AppealState.RECEIVED: "已受理",
    AppealState.DISPATCHED: "待签收",
    AppealState.SIGNED: "已签收",
    AppealState.HANDLING: "办理中",
    AppealState.SUSPENDED: "已挂起",
    AppealState.RETURNED: "已退回待重新派单",
    AppealState.ARBITRATION: "待区营商办裁定",
    AppealState.RECTIFYING: "整改中",
    AppealState.ANSWERED: "已答复待回访",
    AppealState.CLOSED: "已办结",
}


class Action(StrEnum):
    """What is done to an appeal: each logged transition (AppealEvent.action) names one."""

    ACCEPT = "accept"
    DISPATCH = "dispatch"
    SIGN = "sign"
    CONTACT = "contact"
    RETURN = "return"
    TRANSFER = "transfer"
    ARBITRATE = "arbitrate"
    SUSPEND = "suspend"
    RESUME = "resume"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    PLAN = "plan"
    REPORT_MILESTONE = "report_milestone"
    ANSWER = "answer"
    VISIT = "visit"
    CLOSE = "close"
    MESSAGE = "message"
    PHONE = "phone"
    # What the enterprise sends back in the chat: material asked for while 挂起, an answer to staff, a milestone.
    SUPPLEMENT = "supplement"
    ENTERPRISE_MESSAGE = "enterprise_message"
    CONFIRM_MILESTONE = "confirm_milestone"
    RECATEGORIZE = "recategorize"
    REMIND_RATING = "remind_rating"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.ACCEPT: "受理",
    Action.DISPATCH: "派单",
    Action.SIGN: "签收",
    Action.CONTACT: "办理（联系企业）",
    Action.RETURN: "退回",
    Action.TRANSFER: "转派",
    Action.ARBITRATE: "裁定",
    Action.SUSPEND: "挂起",
    Action.RESUME: "恢复办理",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.DECIDE_EXTENSION: "审批延期",
    Action.PLAN: "提交整改计划",
    Action.REPORT_MILESTONE: "报告整改进展",
    Action.ANSWER: "答复",
    Action.VISIT: "回访",
    Action.CLOSE: "办结",
    Action.MESSAGE: "回复企业",
    Action.PHONE: "电话联系企业",
    Action.SUPPLEMENT: "企业补充材料",
    Action.ENTERPRISE_MESSAGE: "企业留言",
    Action.CONFIRM_MILESTONE: "企业确认整改节点",
    Action.RECATEGORIZE: "调整类别",
    Action.REMIND_RATING: "提醒企业评价",
}


class ActorRole(StrEnum):
    """Who acts on an appeal: the enterprise, staff of a unit, its head, 区营商办, an admin, or the system."""

    ENTERPRISE = "enterprise"
    STAFF = "staff"
    UNIT_HEAD = "unit_head"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return ACTOR_ROLE_LABELS[self]


ACTOR_ROLE_LABELS: dict[ActorRole, str] = {
    ActorRole.STAFF: "经办人",
    ActorRole.UNIT_HEAD: "单位负责人",
    ActorRole.SUPERVISOR: "区营商办",
    ActorRole.ADMIN: "管理员",
    ActorRole.ENTERPRISE: "企业",
    ActorRole.SYSTEM: "系统",
}


class Outcome(StrEnum):
    """How an answered appeal ended; 整改 (rectified) is counted apart from solved."""

    SOLVED = "solved"
    UNSOLVED = "unsolved"
    RECTIFIED = "rectified"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.SOLVED: "已解决",
    Outcome.UNSOLVED: "未能解决",
    Outcome.RECTIFIED: "整改完成",
}


class Rating(StrEnum):
    """The enterprise's rating at 回访; the value is the word it replies with (and its label)."""

    SATISFIED = "满意"
    FAIRLY_SATISFIED = "基本满意"
    DISSATISFIED = "不满意"

    @property
    def label(self) -> str:
        return self.value


class Stage(StrEnum):
    """A time limit of an appeal (a timer's stage)."""

    SIGN = "sign"
    CONTACT = "contact"
    REPLY = "reply"
    MILESTONE = "milestone"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS: dict[Stage, str] = {
    Stage.SIGN: "签收",
    Stage.CONTACT: "联系企业",
    Stage.REPLY: "答复",
    Stage.MILESTONE: "整改节点",
}


class StopReason(StrEnum):
    """Why a timer stopped: its step was done (met), or it no longer applies (cancelled)."""

    MET = "met"
    CANCELLED = "cancelled"


class Audience(StrEnum):
    """Who a level of 分级督办 (and its staff notice) goes to."""

    STAFF = "staff"
    UNIT_HEAD = "unit_head"
    SUPERVISOR = "supervisor"

    @property
    def label(self) -> str:
        return AUDIENCE_LABELS[self]


AUDIENCE_LABELS: dict[Audience, str] = {
    Audience.STAFF: "经办人员",
    Audience.UNIT_HEAD: "单位负责人",
    Audience.SUPERVISOR: "区营商办",
}


class NoticeEvent(StrEnum):
    """The step an enterprise notice tells of."""

    SIGNED = "signed"
    SUSPENDED = "suspended"
    ANSWERED = "answered"
    REOPENED = "reopened"
    CLOSED = "closed"
    TRANSFERRED = "transferred"
    EXTENDED = "extended"
    PLAN = "plan"
    MILESTONE = "milestone"
    MESSAGE = "message"
    RESUMED = "resumed"
    RATING_REMINDER = "rating_reminder"
    RECATEGORIZED = "recategorized"


class NoticeStatus(StrEnum):
    """How far an enterprise notice got: sent is a customer-service message, template a template message."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    TEMPLATE = "template"
    NEEDS_CALL = "needs_call"

    @property
    def label(self) -> str:
        return NOTICE_STATUS_LABELS[self]


NOTICE_STATUS_LABELS: dict[NoticeStatus, str] = {
    NoticeStatus.PENDING: "待发送",
    NoticeStatus.SENDING: "发送中",
    NoticeStatus.SENT: "已发送（客服消息）",
    NoticeStatus.TEMPLATE: "已发送（模板消息）",
    NoticeStatus.NEEDS_CALL: "未送达：需电话联系企业",
}


# -- the routing table: what admins edit (routing import/export) --


class Unit(Base):
    """A district unit (区级部门), street office (街道办事处) or other responsible body."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # department | street | court | office
    kind: Mapped[str] = mapped_column(String(32), default="department")
    # Other names that identify it; for a street office, how enterprises name their street ("北院门").
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Staff placeholders until accounts exist: who handles appeals (经办人) and who heads the unit (负责人).
    contact_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    head_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    head_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # A unit no longer in service: kept for its history, but no new appeals, transfers or accounts go to it.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Category(Base):
    """An appeal category with the words that reveal it and the unit that leads on it."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    seed_task: Mapped[str] = mapped_column(String(32), default="")
    # Whether filing asks where the problem is (a project site), beyond the enterprise's street.
    asks_place: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    lead_unit: Mapped[Unit] = relationship(lazy="joined")
    co_units: Mapped[list[Unit]] = relationship(
        secondary="category_units", lazy="selectin", order_by="CategoryUnit.position", viewonly=True
    )


class CategoryUnit(Base):
    """A co-responsible unit (责任单位) of a category, in the order the routing table lists them."""

    __tablename__ = "category_units"

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class TimeLimit(Base):
    """How long a stage may take, per category ("*" for every category) and urgency."""

    __tablename__ = "time_limits"
    __table_args__ = (UniqueConstraint("category_code", "urgency", "stage", name="uq_time_limits_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str] = mapped_column(String(64))
    urgency: Mapped[str] = mapped_column(String(16))
    # sign (签收) | contact (联系企业) | reply (答复)
    stage: Mapped[Stage] = mapped_column(EnumString(Stage, 16))
    amount: Mapped[int] = mapped_column(Integer)
    # h: working hours | d: working days (the day of dispatch not counted, due at the end of the last one)
    unit: Mapped[str] = mapped_column(String(1))


class CalendarDay(Base):
    """A date that breaks the Monday-to-Friday rule (a statutory holiday or a make-up working day, 调休)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(64), default="")


class CalendarYear(Base):
    """A year whose State Council holiday notice is entered; other years fall back to Monday to Friday."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # chinese-calendar | admin
    source: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = mapped_column(UTC_TIME)


class RoutingSetting(Base):
    """One named value of the routing table: reference prefix, working hours, escalation ladder, reason codes."""

    __tablename__ = "routing_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


# -- appeals: what the lifecycle writes --


class Appeal(Base):
    """An enterprise's appeal (诉求) and where it stands."""

    __tablename__ = "appeals"
    __table_args__ = (
        Index("ix_appeals_unit_id_state", "unit_id", "state"),
        Index("ix_appeals_openid_created_at", "openid", "created_at"),
        # The indicators (routing.indicators) read appeals by when they arrived and when they closed.
        Index("ix_appeals_created_at", "created_at"),
        Index("ix_appeals_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    openid: Mapped[str] = mapped_column(String(64))
    enterprise: Mapped[str] = mapped_column(String(255))
    contact: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    street: Mapped[str] = mapped_column(String(64), default="")
    place: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    # The unit that must act now: the lead unit once dispatched, 区营商办 while it re-routes or arbitrates.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    street_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    co_units: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[AppealState] = mapped_column(EnumString(AppealState, 16), index=True)
    resume_state: Mapped[AppealState | None] = mapped_column(EnumString(AppealState, 16))
    returns: Mapped[int] = mapped_column(Integer, default=0)
    # 区营商办 has arbitrated the routing: its decision is final, no more returns.
    final_route: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[Outcome | None] = mapped_column(EnumString(Outcome, 16))
    answer: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[Rating | None] = mapped_column(EnumString(Rating, 8))
    rating_reason: Mapped[str | None] = mapped_column(String(16))
    # What the enterprise wrote with its rating ("基本满意，问题解决了，但之前白跑了两趟" keeps the second part).
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # Times the appeal was reopened after a 不满意 rating (重办), and when the unanswered rating was asked again.
    reopens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_reminded_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    # No WeChat channel reached the enterprise: staff must phone it.
    needs_call: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    signed_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    contacted_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    answered_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    closed_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    updated_at: Mapped[datetime] = mapped_column(UTC_TIME)
    # Facts the indicators read (docs/indicators.md): the first 签收 by any unit (the district's response), and
    # the working seconds from 派单 to the first 签收, to the last 答复 and to 办结, fixed when they happen.
    first_signed_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    sign_seconds: Mapped[int | None] = mapped_column(Integer)
    answer_seconds: Mapped[int | None] = mapped_column(Integer)
    close_seconds: Mapped[int | None] = mapped_column(Integer)


class AppealEvent(Base):
    """One logged transition: who did what, when and why."""

    __tablename__ = "appeal_events"
    __table_args__ = (Index("ix_appeal_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    action: Mapped[Action] = mapped_column(EnumString(Action, 32))
    from_state: Mapped[AppealState | None] = mapped_column(EnumString(AppealState, 16))
    to_state: Mapped[AppealState] = mapped_column(EnumString(AppealState, 16))
    actor: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[ActorRole] = mapped_column(EnumString(ActorRole, 16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    reason_code: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTC_TIME)


# The partial index of the limits missed (routing/indicators.py overdue() writes its WHERE the same way).
MISSED = "suspended_at IS NULL AND (stopped_at IS NULL OR stopped_at > due_at)"


class AppealTimer(Base):
    """One time limit of an appeal; its escalation times are columns the worker sweeps."""

    __tablename__ = "appeal_timers"
    __table_args__ = (
        # Also the index of an appeal's timers (appeal_id leads).
        UniqueConstraint("appeal_id", "stage", "seq", name="uq_appeal_timers_key"),
        # Only running timers have a next firing time: the sweep reads this index and nothing else.
        # The indicators read the limits that fell due in a period, stage by stage.
        Index("ix_appeal_timers_stage_due_at", "stage", "due_at"),
        Index("ix_appeal_timers_stage_started_at", "stage", "started_at"),
        # The 答复 limits met late (按时办结率): few rows, so "closed on time" is an anti-join on a small index.
        Index(
            "ix_appeal_timers_late_reply",
            "appeal_id",
            postgresql_where=text("stage = 'reply' AND stop_reason = 'met' AND stopped_at > due_at"),
            sqlite_where=text("stage = 'reply' AND stop_reason = 'met' AND stopped_at > due_at"),
        ),
        # The 签收 limits that fell due in a period (响应率), read from the index alone (PostgreSQL).
        Index(
            "ix_appeal_timers_sign_due_at",
            "due_at",
            postgresql_include=["appeal_id", "seq", "unit_id", "stopped_at", "stop_reason"],
            postgresql_where=text("stage = 'sign'"),
            sqlite_where=text("stage = 'sign'"),
        ),
        # The limits not met by their due time (超时件): few rows, read whole for a period by due_at.
        Index(
            "ix_appeal_timers_missed",
            "due_at",
            "stage",
            "appeal_id",
            "unit_id",
            postgresql_where=text(MISSED),
            sqlite_where=text(MISSED),
        ),
        Index(
            "ix_appeal_timers_next_fire_at",
            "next_fire_at",
            postgresql_where=text("next_fire_at IS NOT NULL"),
            sqlite_where=text("next_fire_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    stage: Mapped[Stage] = mapped_column(EnumString(Stage, 16))
    seq: Mapped[int] = mapped_column(Integer, default=1)
    # The unit the limit was set for (the appeal's unit when it started): a unit's own response clock.
    unit_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(1))  # h | d | D (a calendar date, for milestones)
    started_at: Mapped[datetime] = mapped_column(UTC_TIME)
    # The limit in working seconds, and the working seconds spent suspended (挂起) so far.
    total_seconds: Mapped[int] = mapped_column(Integer)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    suspended_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    due_at: Mapped[datetime] = mapped_column(UTC_TIME)
    # ISO times at which each escalation level fires, in ladder order.
    fire_times: Mapped[list[str]] = mapped_column(JSON)
    next_level: Mapped[int] = mapped_column(Integer, default=1)
    next_fire_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    stop_reason: Mapped[StopReason | None] = mapped_column(EnumString(StopReason, 16))


class Escalation(Base):
    """A level of 分级督办 that fired for a timer: exactly one row per timer and level."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("timer_id", "level", name="uq_escalations_timer_id_level"),
        # The escalations whose staff notice is still to be written (routing.notify.notify_escalations).
        Index(
            "ix_escalations_unnotified",
            "id",
            postgresql_where=text("notified_at IS NULL"),
            sqlite_where=text("notified_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    timer_id: Mapped[int] = mapped_column(ForeignKey("appeal_timers.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(16))
    audience: Mapped[Audience] = mapped_column(EnumString(Audience, 16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    scheduled_at: Mapped[datetime] = mapped_column(UTC_TIME)
    fired_at: Mapped[datetime] = mapped_column(UTC_TIME)
    worker: Mapped[str] = mapped_column(String(64), default="")
    notified_at: Mapped[datetime | None] = mapped_column(UTC_TIME)


class Notification(Base):
    """A notice to staff (console inbox); non-urgent ones wait for working hours, supervisors get digests."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "released_at", "release_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    # One notice per escalation at most: the unique key makes a second one impossible.
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), unique=True)
    audience: Mapped[Audience] = mapped_column(EnumString(Audience, 16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)
    release_at: Mapped[datetime] = mapped_column(UTC_TIME)
    released_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    # The supervisor digest that carried this notice.
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    read_at: Mapped[datetime | None] = mapped_column(UTC_TIME)


class EnterpriseNotice(Base):
    """A step the enterprise must be told about, waiting for the worker to send it (an outbox)."""

    __tablename__ = "enterprise_notices"
    __table_args__ = (Index("ix_enterprise_notices_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    openid: Mapped[str] = mapped_column(String(64))
    event: Mapped[NoticeEvent] = mapped_column(EnumString(NoticeEvent, 32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[NoticeStatus] = mapped_column(EnumString(NoticeStatus, 16), default=NoticeStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outbound_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)
    claimed_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    sent_at: Mapped[datetime | None] = mapped_column(UTC_TIME)


class Milestone(Base):
    """A dated step of a rectification plan (整改计划)."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("appeal_id", "position", name="uq_milestones_appeal_id_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    due_on: Mapped[date] = mapped_column(Date)
    progress: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    # The enterprise confirmed in the chat that the reported step is done.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTC_TIME)


class ExtensionRequest(Base):
    """A unit's request for more time (延期), decided by 区营商办."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"), index=True)
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTC_TIME)
    approved: Mapped[bool | None] = mapped_column(Boolean)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    decision: Mapped[str] = mapped_column(Text, default="")


class AppealDraft(Base):
    """What the chat has collected of an appeal not yet confirmed, or the question it waits an answer to."""

    __tablename__ = "appeal_drafts"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTC_TIME)


class ReferenceCounter(Base):
    """The last sequence number of the references of one prefix and day."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)
