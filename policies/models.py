"""The policy list (惠企政策清单): policies, their tags and versions, staged imports, and the admins' lexicon."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage import UTC_TIME, Base, EnumString


class PolicyMode(StrEnum):
    """兑现方式, how an enterprise gets the benefit; the value is the Chinese name, as lists and replies write it."""

    NO_APPLICATION = "免申即享"  # nothing to apply for: whoever qualifies gets it
    INSTANT = "即申即享"  # granted at once on application
    ON_APPLICATION = "依申请"  # granted after the application is reviewed (the default)

    @property
    def label(self) -> str:
        return self.value


class PolicyStatus(StrEnum):
    """Where a policy stands: only published ones (within their validity) are recommended by the bot."""

    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


class VersionAction(StrEnum):
    """What made a new version of a policy (PolicyVersion.action)."""

    CREATED = "created"
    UPDATED = "updated"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    RESTORED = "restored"
    IMPORTED = "imported"

    @property
    def label(self) -> str:
        return VERSION_ACTION_LABELS[self]


MODES = tuple(PolicyMode)
STATUSES = tuple(PolicyStatus)
STATUS_LABELS: dict[PolicyStatus, str] = {
    PolicyStatus.DRAFT: "草稿",
    PolicyStatus.PUBLISHED: "已发布",
    PolicyStatus.WITHDRAWN: "已撤回",
}
VERSION_ACTION_LABELS: dict[VersionAction, str] = {
    VersionAction.CREATED: "新建",
    VersionAction.UPDATED: "修改",
    VersionAction.PUBLISHED: "发布",
    VersionAction.WITHDRAWN: "撤回",
    VersionAction.RESTORED: "恢复旧版本",
    VersionAction.IMPORTED: "导入",
}


class Policy(Base):
    """One benefit policy; `updated_at` moves on every change, so max(updated_at) is a cheap catalog version."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(String(255))
    eligibility: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text)
    process: Mapped[str] = mapped_column(Text, default="")
    materials: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[PolicyMode] = mapped_column(EnumString(PolicyMode, 16), default=PolicyMode.ON_APPLICATION)
    # {key: value} in the list's order, e.g. {"行业": "制造业", "规模": "小微"}; mirrored in policy_tags.
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    url: Mapped[str] = mapped_column(String(1024), default="")
    status: Mapped[PolicyStatus] = mapped_column(
        EnumString(PolicyStatus, 16), default=PolicyStatus.PUBLISHED, index=True
    )
    # True for the shipped demo catalog, so that nobody mistakes it for a district's real list.
    demo: Mapped[bool] = mapped_column(default=False)
    # The number of the latest entry in policy_versions (0 before the first); edits name it to detect conflicts.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class PolicyTag(Base):
    """One tag value of a policy, split for filtering (规模 "小微" gives 小 and 微)."""

    __tablename__ = "policy_tags"
    __table_args__ = (Index("ix_policy_tags_key_value", "key", "value"),)

    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)


class PolicyVersion(Base):
    """A snapshot of a policy after one change: who, when, what changed, and every field as it then was."""

    __tablename__ = "policy_versions"
    __table_args__ = (Index("ix_policy_versions_policy_id_number", "policy_id", "number", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[VersionAction] = mapped_column(EnumString(VersionAction, 16))
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StagedImport(Base):
    """A validated import file waiting for the admin to confirm its preview (any app instance may commit it)."""

    __tablename__ = "policy_imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LexiconEntry(Base):
    """A synonym group added by an admin: the canonical term and its aliases (a local nickname, a new term)."""

    __tablename__ = "lexicon_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(64), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(255), default="")
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


# -- pushes to enterprises (政策找人): campaigns, one delivery per (policy version, kind, openid), opt-outs --


class PushKind(StrEnum):
    """What a push tells: a policy the enterprise qualifies for, or that its 申报截止 is near."""

    NEW = "new"
    REMINDER = "reminder"

    @property
    def label(self) -> str:
        return PUSH_KIND_LABELS[self]


PUSH_KIND_LABELS: dict[PushKind, str] = {PushKind.NEW: "政策推送", PushKind.REMINDER: "申报截止提醒"}


class CampaignState(StrEnum):
    """A campaign sends until every delivery has an outcome, or an admin stops it."""

    SENDING = "sending"
    DONE = "done"
    STOPPED = "stopped"

    @property
    def label(self) -> str:
        return {CampaignState.SENDING: "发送中", CampaignState.DONE: "已完成", CampaignState.STOPPED: "已停止"}[self]


class DeliveryState(StrEnum):
    """Where one message of a campaign stands."""

    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker, the API call under way
    SENT = "sent"  # WeChat accepted it
    DELIVERED = "delivered"  # WeChat reported it delivered (TEMPLATESENDJOBFINISH success)
    FAILED = "failed"  # refused by WeChat, or reported not delivered
    UNCERTAIN = "uncertain"  # its worker died during the call: waiting for WeChat's report before sending again
    UNSUBSCRIBED = "unsubscribed"  # 退订 (or the user stopped following the account): not sent
    OVER_QUOTA = "over_quota"  # the enterprise had its weekly pushes: not sent
    INELIGIBLE = "ineligible"  # no longer qualifies when its turn came: not sent
    UNREACHABLE = "unreachable"  # outside the 48-hour window with no template configured: not sent
    STOPPED = "stopped"  # the campaign was stopped, or the policy withdrawn, before it was sent

    @property
    def label(self) -> str:
        return DELIVERY_STATE_LABELS[self]


DELIVERY_STATE_LABELS: dict[DeliveryState, str] = {
    DeliveryState.QUEUED: "待发送",
    DeliveryState.SENDING: "发送中",
    DeliveryState.SENT: "已发出",
    DeliveryState.DELIVERED: "已送达",
    DeliveryState.FAILED: "失败",
    DeliveryState.UNCERTAIN: "结果待确认",
    DeliveryState.UNSUBSCRIBED: "已退订",
    DeliveryState.OVER_QUOTA: "超出每周上限",
    DeliveryState.INELIGIBLE: "已不符合条件",
    DeliveryState.UNREACHABLE: "无法触达",
    DeliveryState.STOPPED: "已停止",
}


class PushChannel(StrEnum):
    """How a push is sent (the values are those of bot.chat.models.Channel)."""

    TEMPLATE = "template"
    CUSTOMER_SERVICE = "customer_service"


class Campaign(Base):
    """A push of one version of a policy to the enterprises it fits, as the admin confirmed it."""

    __tablename__ = "push_campaigns"
    __table_args__ = (UniqueConstraint("policy_id", "policy_version", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"), index=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[PushKind] = mapped_column(EnumString(PushKind, 16))
    state: Mapped[CampaignState] = mapped_column(EnumString(CampaignState, 16), index=True)
    eligible: Mapped[int] = mapped_column(Integer, default=0)  # enterprises that qualified at creation
    bound: Mapped[int] = mapped_column(Integer, default=0)  # of which with a bound WeChat user
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)
    finished_at: Mapped[datetime | None] = mapped_column(UTC_TIME)


class Delivery(Base):
    """One message of a campaign to one WeChat user, with its exact text; at most one per (policy version, kind,
    openid), whatever the workers and restarts."""

    __tablename__ = "push_deliveries"
    __table_args__ = (
        UniqueConstraint("policy_id", "policy_version", "kind", "openid"),
        Index("ix_push_deliveries_state_id", "state", "id"),
        Index("ix_push_deliveries_enterprise_id_claimed_at", "enterprise_id", "claimed_at"),
        Index("ix_push_deliveries_openid_sent_at", "openid", "sent_at"),
        Index("ix_push_deliveries_sent_at", "sent_at"),  # the pushes of a period (policies/indicators.py)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("push_campaigns.id", ondelete="CASCADE"), index=True)
    policy_id: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[PushKind] = mapped_column(EnumString(PushKind, 16))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    openid: Mapped[str] = mapped_column(String(64))
    state: Mapped[DeliveryState] = mapped_column(EnumString(DeliveryState, 16))
    channel: Mapped[PushChannel | None] = mapped_column(EnumString(PushChannel, 32))
    text: Mapped[str] = mapped_column(Text)  # the message as previewed (customer-service text)
    fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # the template message's data
    msgid: Mapped[int | None] = mapped_column(BigInteger, index=True)  # WeChat's id of the template message
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    called_at: Mapped[datetime | None] = mapped_column(UTC_TIME)  # committed just before the API call
    sent_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    delivered_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    opened_at: Mapped[datetime | None] = mapped_column(UTC_TIME)  # the user asked for the policy's detail after it
    error: Mapped[str] = mapped_column(String(255), default="")


class TemplateReport(Base):
    """WeChat's delivery report of a template message (TEMPLATESENDJOBFINISH), kept until it is matched."""

    __tablename__ = "template_reports"

    msgid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTC_TIME)
    matched: Mapped[bool] = mapped_column(default=False)


class PushOptOut(Base):
    """A user's 退订: of every push (kind "all") or of one kind."""

    __tablename__ = "push_opt_outs"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)


class Redemption(Base):
    """A 兑现 record: an enterprise received a policy's benefit (when, how much)."""

    __tablename__ = "redemptions"
    __table_args__ = (Index("ix_redemptions_policy_id_enterprise_id", "policy_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    note: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(255), default="")  # the file it was imported from
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)
