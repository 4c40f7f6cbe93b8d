"""Routing table operations on the database; callers own the transaction (nothing here commits)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from intents.records import CategoryDoc
from routing import timers
from routing.calendar import package_years
from routing.deadlines import parse_limit
from routing.models import CalendarDay, CalendarYear, Category, CategoryUnit, RoutingSetting, Stage, TimeLimit, Unit
from routing.rules import SETTING_KEYS, load_calendar
from routing.table import read_default_table

log = logging.getLogger(__name__)

STAGE_KEYS = (Stage.SIGN, Stage.CONTACT, Stage.REPLY)
UNIT_FIELDS = ("kind", "aliases", "contact_name", "contact_phone", "head_name", "head_phone")


@dataclass
class Applied:
    """How many rows of each table an import or the default table added or changed."""

    units: int = 0
    categories: int = 0
    time_limits: int = 0
    settings: int = 0
    calendar_days: int = 0
    recomputed: int = 0


def apply_table(*, session: Session, table: Mapping[str, Any], now: datetime | None = None) -> Applied:
    """Upsert a checked routing table: units by name, categories by code, limits, settings, calendar days."""
    now = now or datetime.now(UTC)
    units = {unit.name: unit for unit in session.scalars(select(Unit))}
    applied = Applied(units=_apply_units(session, table.get("units") or [], units))
    session.flush()
    applied.categories = _apply_categories(session, table.get("categories") or [], units)
    applied.time_limits = _apply_time_limits(session, table.get("time_limits") or [])
    applied.settings = _apply_settings(session, table)
    days = table.get("calendar") or []
    applied.calendar_days = _apply_calendar(session, days, now=now)
    session.flush()
    everything = "working_hours" in table or "escalation" in table
    if days or everything:
        applied.recomputed = timers.recompute(
            session=session, calendar=load_calendar(session=session), now=now, only_provisional=not everything
        )
    return applied


def _apply_units(session: Session, records: list[Mapping[str, Any]], units: dict[str, Unit]) -> int:
    """Add or update units by name (`units` gains the new ones); how many records were applied."""
    for record in records:
        found = units.get(record["name"])
        if found is None:
            found = units[record["name"]] = Unit(name=record["name"], kind="department", aliases=[])
            session.add(found)
        for field in UNIT_FIELDS:
            if field in record and record[field] is not None:
                setattr(found, field, list(record[field]) if field == "aliases" else record[field])
    return len(records)


def _apply_categories(session: Session, records: list[Mapping[str, Any]], units: dict[str, Unit]) -> int:
    """Add or update categories by code, with their lead and co-responsible units in order."""
    categories = {category.code: category for category in session.scalars(select(Category))}
    for record in records:
        category = categories.get(record["code"])
        if category is None:
            category = Category(code=record["code"], lead_unit_id=units[record["lead_unit"]].id)
            session.add(category)
        category.name = record["name"]
        category.description = record.get("description") or ""
        category.keywords = list(record.get("keywords") or [])
        category.seed_task = str(record.get("seed_task") or "")
        category.asks_place = bool(record.get("asks_place", False))
        category.lead_unit_id = units[record["lead_unit"]].id
        session.flush()
        session.execute(delete(CategoryUnit).where(CategoryUnit.category_id == category.id))
        for position, name in enumerate(record.get("units") or []):
            session.add(CategoryUnit(category_id=category.id, unit_id=units[name].id, position=position))
    return len(records)


def _apply_time_limits(session: Session, records: list[Mapping[str, Any]]) -> int:
    """Set the limits filled in, by category, urgency and stage; how many stage limits were set."""
    limits = {(row.category_code, row.urgency, row.stage): row for row in session.scalars(select(TimeLimit))}
    count = 0
    for record in records:
        for stage in STAGE_KEYS:
            if not record.get(stage):
                continue
            amount, unit = parse_limit(record[stage])
            limit_key = (record["category"], record["urgency"], stage)
            row = limits.get(limit_key)
            if row is None:
                row = limits[limit_key] = TimeLimit(
                    category_code=limit_key[0], urgency=limit_key[1], stage=stage, amount=0, unit="h"
                )
                session.add(row)
            row.amount, row.unit = amount, unit
            count += 1
    return count


def _apply_settings(session: Session, table: Mapping[str, Any]) -> int:
    """Store the settings the table has; how many."""
    count = 0
    for key in SETTING_KEYS:
        if key in table:
            setting = session.get(RoutingSetting, key)
            if setting is None:
                session.add(RoutingSetting(key=key, value=table[key]))
            else:
                setting.value = table[key]
            count += 1
    return count


def _apply_calendar(session: Session, records: list[Mapping[str, Any]], *, now: datetime) -> int:
    """Enter calendar days; a year gets an admin entry the first time one of its days is entered."""
    for record in records:
        day = record["date"] if isinstance(record["date"], date) else date.fromisoformat(str(record["date"]))
        session.merge(CalendarDay(day=day, workday=bool(record["workday"]), name=str(record.get("name") or "")))
        if session.get(CalendarYear, day.year) is None:
            session.add(CalendarYear(year=day.year, source="admin", entered_at=now))
    return len(records)


def seed_calendar(*, session: Session, now: datetime | None = None) -> list[int]:
    """Enter the holiday notices `chinese-calendar` knows for recent years not entered yet; the years added."""
    now = now or datetime.now(UTC)
    entered = set(session.scalars(select(CalendarYear.year)))
    added = []
    for year, days in package_years(now.year - 2, now.year + 1).items():
        if year in entered:
            continue
        for day, (workday, name) in sorted(days.items()):
            if session.get(CalendarDay, day) is None:
                session.add(CalendarDay(day=day, workday=workday, name=name))
        session.add(CalendarYear(year=year, source="chinese-calendar", entered_at=now))
        added.append(year)
    session.flush()
    if added:
        timers.recompute(session=session, calendar=load_calendar(session=session), now=now, only_provisional=True)
    return added


def ensure_default_table(*, session: Session, now: datetime | None = None) -> bool:
    """Load the default routing table when there are no categories; True if it was loaded.

    Always fills in what a database created before appeals lacks (settings, time limits, the calendar).
    """
    table = read_default_table()
    loaded = not session.scalar(select(func.count()).select_from(Category))
    if loaded:
        apply_table(session=session, table={key: value for key, value in table.items() if key != "calendar"}, now=now)
    else:
        stored = set(session.scalars(select(RoutingSetting.key)))
        missing = {key: table[key] for key in SETTING_KEYS if key not in stored}
        if not session.scalar(select(func.count()).select_from(TimeLimit)):
            missing["time_limits"] = table["time_limits"]
        if missing:
            apply_table(session=session, table=missing, now=now)
        aliases = {record["name"]: record.get("aliases") or [] for record in table["units"]}
        for unit in session.scalars(select(Unit).where(Unit.name.in_(list(aliases)))):
            if not unit.aliases and aliases[unit.name]:
                unit.aliases = list(aliases[unit.name])
    seed_calendar(session=session, now=now)
    return loaded


def missing_years(*, session: Session, today: date) -> list[int]:
    """Years that deadlines set from today can reach (30 working days ≈ 45 days) with no holiday notice entered.

    The console shows these to admins; deadlines in them are provisional until the notice is entered.
    """
    entered = set(session.scalars(select(CalendarYear.year)))
    reach = {today.year, (today + timedelta(days=45)).year}
    return sorted(year for year in reach if year not in entered)


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
                description=category.description or "",
            )
        )
    return docs
