"""What the chat reads from the routing tables to take in an appeal: its category and units, the district's
streets, the details the enterprise gave last time, and the unit that wrote to it lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import dispatch, lifecycle
from routing.models import Action, Appeal, AppealEvent, AppealState, Category, Unit
from routing.rules import load_rules

# Staff wrote to the enterprise within this long (WeChat's customer-service window): its words are for them.
TALK_WINDOW = timedelta(hours=48)
# The states in which staff may write to the enterprise, but not once answered: its words are then a rating.
TALKING = tuple(state for state in lifecycle.ALLOWED[Action.MESSAGE] if state != AppealState.ANSWERED)


@dataclass(frozen=True)
class CategoryInfo:
    """A category as the chat tells it: code, name, lead unit, co-responsible units, whether a place is asked."""

    code: str
    name: str
    lead_unit: str
    co_units: tuple[str, ...]
    asks_place: bool


@dataclass(frozen=True)
class Details:
    """How the enterprise named itself on its last appeal."""

    enterprise: str
    contact: str
    phone: str
    street: str


def category(*, session: Session, code: str | None) -> CategoryInfo | None:
    """The category of this code, else the table's default category; None when neither exists."""
    for wanted in (code, load_rules(session=session).default_category):
        found = session.scalar(select(Category).where(Category.code == wanted)) if wanted else None
        if found is not None:
            return CategoryInfo(
                found.code,
                found.name,
                found.lead_unit.name,
                tuple(unit.name for unit in found.co_units),
                found.asks_place,
            )
    return None


def street_names(*, session: Session) -> list[str]:
    """The streets as enterprises name them (a street office's first alias), in table order."""
    units = session.scalars(select(Unit).where(Unit.kind == "street").order_by(Unit.id))
    return [unit.aliases[0] if unit.aliases else unit.name for unit in units]


def street_name(*, session: Session, said: str) -> str | None:
    """The street a text names, as enterprises name it; None when it names none."""
    unit = dispatch.street_unit(session=session, street=said)
    if unit is None:
        return None
    return unit.aliases[0] if unit.aliases else unit.name


def last_details(*, session: Session, openid: str) -> Details | None:
    """The enterprise, contact, phone and street of this openid's latest appeal; None before its first."""
    appeal = session.scalar(select(Appeal).where(Appeal.openid == openid).order_by(Appeal.id.desc()).limit(1))
    if appeal is None:
        return None
    return Details(appeal.enterprise, appeal.contact, appeal.phone, appeal.street or "")


@dataclass(frozen=True)
class Writer:
    """The unit that wrote to the enterprise lately, about which appeal."""

    appeal_id: int
    reference: str
    unit: str


def recent_writer(*, session: Session, openid: str, now: datetime) -> Writer | None:
    """The unit that wrote to (or asked material of) the enterprise within the window, while it still works on it."""
    row = session.execute(
        select(Appeal.id, Appeal.reference, Unit.name)
        .join(AppealEvent, AppealEvent.appeal_id == Appeal.id)
        .join(Unit, Unit.id == Appeal.unit_id)
        .where(
            Appeal.openid == openid,
            Appeal.state.in_(TALKING),
            AppealEvent.action.in_((Action.MESSAGE, Action.SUSPEND)),
            AppealEvent.at >= now - TALK_WINDOW,
        )
        .order_by(AppealEvent.id.desc())
        .limit(1)
    ).first()
    return Writer(row[0], row[1], row[2]) if row is not None else None
