"""The policy list (惠企政策清单): policies, their tags and versions, staged imports, and the admins' lexicon."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from storage import Base, EnumString


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
