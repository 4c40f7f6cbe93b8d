"""Tables of the conversation: subscribers, inbound messages and outbound replies, hand-offs to a person, and
the waits an enterprise has set aside."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from routing.models import Appeal, Unit
from storage import UTC_TIME, Base, EnumString


class Channel(StrEnum):
    """How a reply reaches the user; NONE when an answer carried no reply (never stored on an outbound row)."""

    PASSIVE = "passive"  # in the HTTP answer to WeChat's request
    CUSTOMER_SERVICE = "customer_service"
    TEMPLATE = "template"
    NONE = "none"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS: dict[Channel, str] = {
    Channel.PASSIVE: "自动回复",
    Channel.CUSTOMER_SERVICE: "客服消息",
    Channel.TEMPLATE: "模板消息",
    Channel.NONE: "无回复",
}


class OutboundStatus(StrEnum):
    """How the delivery of an outbound message stands."""

    PENDING = "pending"
    # Its send was called and not yet recorded; stuck there (the sender died), it becomes UNCERTAIN.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Outside the 48-hour window or unsubscribed: kept for staff, who can phone the enterprise.
    UNDELIVERED = "undelivered"
    # The sender died between calling WeChat and recording the answer: never sent again automatically.
    UNCERTAIN = "uncertain"

    @property
    def label(self) -> str:
        return OUTBOUND_STATUS_LABELS[self]


OUTBOUND_STATUS_LABELS: dict[OutboundStatus, str] = {
    OutboundStatus.SENT: "已送达",
    OutboundStatus.PENDING: "发送中",
    OutboundStatus.UNDELIVERED: "未送达",
    OutboundStatus.FAILED: "发送失败",
    OutboundStatus.SENDING: "发送中",
    OutboundStatus.UNCERTAIN: "未确认送达",
}


class Subscriber(Base):
    """One WeChat user of the official account (an enterprise contact), keyed by openid."""

    __tablename__ = "subscribers"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscribed: Mapped[bool] = mapped_column(default=True)
    scene: Mapped[str | None] = mapped_column(String(128))
    subscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InboundMessage(Base):
    """A message or event as WeChat delivered it, stored once per dedup key."""

    __tablename__ = "inbound_messages"
    # The user's last message decides whether customer-service messages may be sent (48 hours).
    # The worker looks for messages whose processing never finished (processed_at, claimed_at).
    __table_args__ = (
        Index("ix_inbound_messages_openid_received_at", "openid", "received_at"),
        Index("ix_inbound_messages_processed_at_claimed_at", "processed_at", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    openid: Mapped[str] = mapped_column(String(64))
    msg_id: Mapped[int | None] = mapped_column(BigInteger)
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64))
    event_key: Mapped[str | None] = mapped_column(String(512))
    # The text the bot reads: Content, or a voice message's Recognition.
    text: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The HTTP body answered to WeChat, replayed verbatim to retries.
    response: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The processing attempt that owns the message (1 for the first delivery; a retry or the worker that takes
    # over a dead owner's message adds one) and since when; the owner's writes are fenced by it.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the message was taken as (Attached), and the appeal or hand-off it was attached to; none for the rest.
    # Plain integers, as enterprise_notices.outbound_id: adding a foreign key would rebuild the table on SQLite.
    attached_as: Mapped[str | None] = mapped_column(String(16))
    appeal_id: Mapped[int | None] = mapped_column(Integer, index=True)
    handoff_id: Mapped[int | None] = mapped_column(Integer, index=True)


class OutboundMessage(Base):
    """A reply or push to a user and how it was delivered."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[Channel] = mapped_column(EnumString(Channel, 32))
    status: Mapped[OutboundStatus] = mapped_column(EnumString(OutboundStatus, 32), index=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # WeChat's msgid of a template message, echoed by TEMPLATESENDJOBFINISH as MsgID.
    template_msg_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the send now under way (status SENDING) was called.
    called_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A person's reply in a hand-off (人工客服): the conversation and the staff member who wrote it.
    handoff_id: Mapped[int | None] = mapped_column(Integer, index=True)
    author: Mapped[str | None] = mapped_column(String(128))


class Attached(StrEnum):
    """What an inbound message was taken as, when it belongs to an appeal or a hand-off (InboundMessage)."""

    DRAFT = "draft"  # an answer while filing; linked to the appeal once filed
    SUPPLEMENT = "supplement"  # material asked for while 挂起
    RATING = "rating"
    ANSWER = "answer"  # an answer to staff who asked a question, or wrote lately
    MILESTONE = "milestone"  # a reply to a reported 整改 milestone
    HANDOFF = "handoff"  # to a person (人工客服)

    @property
    def label(self) -> str:
        return ATTACHED_LABELS[self]


ATTACHED_LABELS: dict[Attached, str] = {
    Attached.DRAFT: "登记诉求",
    Attached.SUPPLEMENT: "补充材料",
    Attached.RATING: "评价",
    Attached.ANSWER: "回复工作人员",
    Attached.MILESTONE: "整改进展回复",
    Attached.HANDOFF: "人工客服",
}


class HandoffState(StrEnum):
    """A hand-off to a person: open until staff or the enterprise end it."""

    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {HandoffState.OPEN: "进行中", HandoffState.CLOSED: "已结束"}[self]


class Handoff(Base):
    """An enterprise asked for a person (人工客服): the conversation a unit's staff answer from the console inbox."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_openid_state", "openid", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    # 区营商办, or the unit of the enterprise's open appeal; that appeal, if any.
    unit_id: Mapped[int] = mapped_column(ForeignKey(Unit.__table__.c.id), index=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey(Appeal.__table__.c.id, ondelete="SET NULL"))
    state: Mapped[HandoffState] = mapped_column(EnumString(HandoffState, 16), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTC_TIME)
    last_enterprise_at: Mapped[datetime] = mapped_column(UTC_TIME)
    last_staff_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    closed_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    closed_by: Mapped[str | None] = mapped_column(String(128))


class SetAside(Base):
    """A wait the enterprise stepped out of ("新问题"): its messages go to the bot until the next request."""

    __tablename__ = "set_aside_waits"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTC_TIME)
