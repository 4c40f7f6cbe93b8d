"""The routing table: units, appeal categories, and which units answer for which category."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Unit(Base):
    """A district unit (区级部门), street office (街道办事处) or other responsible body."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # department | street | court | office
    kind: Mapped[str] = mapped_column(String(32), default="department")


class Category(Base):
    """An appeal category with the words that reveal it and the unit that leads on it."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    seed_task: Mapped[str] = mapped_column(String(32), default="")
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    lead_unit: Mapped[Unit] = relationship(lazy="joined")
    co_units: Mapped[list[Unit]] = relationship(secondary="category_units", lazy="selectin")


class CategoryUnit(Base):
    """A co-responsible unit (责任单位) of a category, in the order the routing table lists them."""

    __tablename__ = "category_units"

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
