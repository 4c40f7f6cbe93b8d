"""Routing table operations on the database; callers own the transaction (nothing here commits)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intents.records import CategoryDoc
from routing.models import Category, CategoryUnit, Unit
from routing.table import read_default_table


def ensure_default_table(*, session: Session) -> bool:
    """Load the default routing table when there are no categories; True if it was loaded."""
    if session.scalar(select(func.count()).select_from(Category)):
        return False
    table = read_default_table()
    units = {unit.name: unit for unit in session.scalars(select(Unit))}
    for record in table["units"]:
        if record["name"] not in units:
            unit = Unit(name=record["name"], kind=record.get("kind") or "department")
            session.add(unit)
            units[unit.name] = unit
    session.flush()
    for record in table["categories"]:
        category = Category(
            code=record["code"],
            name=record["name"],
            description=record.get("description") or "",
            keywords=list(record.get("keywords") or []),
            seed_task=str(record.get("seed_task") or ""),
            lead_unit_id=units[record["lead_unit"]].id,
        )
        session.add(category)
        session.flush()
        for position, name in enumerate(record.get("units") or []):
            session.add(CategoryUnit(category_id=category.id, unit_id=units[name].id, position=position))
    session.flush()
    return True


def category_docs(*, session: Session) -> list[CategoryDoc]:
    """Every category with its lead unit and co-responsible units (in table order), by code."""
    co_units: dict[int, list[str]] = {}
    statement = (
        select(CategoryUnit.category_id, Unit.name)
        .join(Unit, Unit.id == CategoryUnit.unit_id)
        .order_by(CategoryUnit.category_id, CategoryUnit.position, Unit.name)
    )
    for category_id, name in session.execute(statement):
        co_units.setdefault(category_id, []).append(name)
    docs = []
    for category in session.scalars(select(Category).order_by(Category.code)):
        docs.append(
            CategoryDoc(
                code=category.code,
                name=category.name,
                keywords=tuple(category.keywords or []),
                lead_unit=category.lead_unit.name,
                units=tuple(co_units.get(category.id, [])),
            )
        )
    return docs
