"""Tables of enterprise profiles: the enterprise, its 资质, who told us each field, WeChat users bound to it,
and the admin-extendable tag terms."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage import UTC_TIME, Base, EnumString


class FieldSource(StrEnum):
    """Who told us a profile field."""

    REGISTER = "register"  # 导入核验: imported from a register such as 市场监管 data
    SELF = "self"  # 企业自报: said by the enterprise in the chat
    STAFF = "staff"  # 工作人员录入: entered by staff or an admin

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS: dict[FieldSource, str] = {
    FieldSource.REGISTER: "导入核验",
    FieldSource.SELF: "企业自报",
    FieldSource.STAFF: "工作人员录入",
}
# The profile fields, in the order of the import columns (docs/interfaces.md).
PROFILE_FIELDS = (
    "name", "industry", "size", "qualifications", "street", "founded_on", "employees", "contact", "phone",
)  # fmt: skip


class Enterprise(Base):
    """One enterprise (一企一档), keyed by its 统一社会信用代码; a field left None is not known."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    industry: Mapped[str | None] = mapped_column(String(64), index=True)  # a 门类 of GB/T 4754-2017
    size: Mapped[str | None] = mapped_column(String(4), index=True)  # 大 中 小 微
    # None: not known; []: known to hold none. Mirrored in enterprise_qualifications for queries.
    qualifications: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    street: Mapped[str | None] = mapped_column(String(64), index=True)
    founded_on: Mapped[date | None] = mapped_column(Date)
    employees: Mapped[int | None] = mapped_column(Integer)
    contact: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    # {field: {"source": FieldSource, "at": ISO 8601, "by": who}}: where each field's value came from.
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)
    updated_at: Mapped[datetime] = mapped_column(UTC_TIME, index=True)


class EnterpriseQualification(Base):
    """One 资质 of an enterprise, split out of Enterprise.qualifications for eligibility queries."""

    __tablename__ = "enterprise_qualifications"
    __table_args__ = (Index("ix_enterprise_qualifications_value", "value"),)

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)


class Binding(Base):
    """A WeChat user (openid) who said they speak for an enterprise; several may bind to one enterprise."""

    __tablename__ = "enterprise_bindings"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    source: Mapped[FieldSource] = mapped_column(EnumString(FieldSource, 16))  # register: matched an imported record
    bound_at: Mapped[datetime] = mapped_column(UTC_TIME)


class TagTerm(Base):
    """A term of an admin-extendable vocabulary (资质, 街道); seeded from enterprises/vocabulary.json."""

    __tablename__ = "tag_terms"
    __table_args__ = (UniqueConstraint("key", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTC_TIME)
